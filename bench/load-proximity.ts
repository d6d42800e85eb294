import { type Identity, newIdentity, runLimited } from './link.js';
import { type NoticeSeen, SocialLink } from './link-social.js';
import { loopbackSource, untilQuiet } from './net.js';
import { consents, expectedPairs, POD_SIZE, podCells, podPairs } from './proximity-layout.js';

/*
 * One wave of the proximity scenario in one worker process: connect the wave's pods (users of
 * proximity-layout.ts), make each pod a clique of friends with proximity switched on through real
 * `friend` and `consent` frames (setup), post presence for every user (measured), then wait for
 * the `nearby` notices and compare them with the expected matches (collect). Every loop is
 * bounded in count, and every wait in time.
 */
export interface WaveArgs {
  urls: string[];
  podStart: number;
  pods: number;
  spread: number;
  concurrency: number;
}

export interface SetupResult {
  users: number;
  connected: number;
  connectFailures: number;
  graphFrames: number;
  graphErrors: number;
  firstError: string | undefined;
  connectMs: number;
  graphMs: number;
}

export interface PresenceResult {
  sent: number;
  ok: number;
  errors: number;
  firstError: string | undefined;
  ms: number;
}

export interface CollectResult {
  expected: number;
  matched: number;
  missed: number;
  /** Nearby notices naming a non-friend, a friend out of range or one without mutual consent. */
  falseMatches: number;
  /** A second nearby notice (another entry ID) for a pair already told. */
  duplicates: number;
  nearby: number;
  friendNotices: number;
  waitMs: number;
}

interface User {
  identity: Identity;
  link: SocialLink | undefined;
  cell: string;
}

export class ProximityGroup {
  private users: User[] = [];
  private pods: { first: number; cells: string[] }[] = [];
  private expected = new Set<string>();
  private seen = new Map<string, string>();
  private counts = { matched: 0, falseMatches: 0, duplicates: 0, nearby: 0, friendNotices: 0 };

  /** Creates the wave's users, connects them and builds each pod's friendships and consents. */
  async setup(a: WaveArgs): Promise<SetupResult> {
    this.close();
    this.users = [];
    this.pods = [];
    this.expected = new Set();
    this.seen = new Map();
    this.counts = { matched: 0, falseMatches: 0, duplicates: 0, nearby: 0, friendNotices: 0 };
    for (let p = 0; p < a.pods; p++) {
      const cells = podCells(a.podStart + p);
      const first = this.users.length;
      for (let m = 0; m < POD_SIZE; m++) {
        this.users.push({ identity: newIdentity('passby'), link: undefined, cell: cells[m]! });
      }
      this.pods.push({ first, cells });
      for (const [x, y] of expectedPairs(cells)) {
        const ix = this.users[first + x]!.identity.id;
        const iy = this.users[first + y]!.identity.id;
        this.expected.add(`${ix}>${iy}`);
        this.expected.add(`${iy}>${ix}`);
      }
    }
    const t0 = performance.now();
    const onNotice = (link: SocialLink, n: NoticeSeen) => this.notice(link, n);
    const connected = await runLimited(this.users.length, a.concurrency, async (i) => {
      const u = this.users[i]!;
      u.link = await SocialLink.open({
        url: a.urls[i % a.urls.length]!,
        localAddress: loopbackSource(i, a.spread),
        identity: u.identity,
        onNotice,
      });
    });
    const t1 = performance.now();
    let graphFrames = 0;
    const graph = await runLimited(this.pods.length, a.concurrency, async (p) => {
      const { first } = this.pods[p]!;
      const link = (m: number) => {
        const l = this.users[first + m]!.link;
        if (!l) throw new Error('a pod member did not connect');
        return l;
      };
      const id = (m: number) => this.users[first + m]!.identity.id;
      await Promise.all(
        podPairs().map(async ([x, y]) => {
          await link(x).request({ t: 'friend', op: 'request', id: id(y) });
          await link(y).request({ t: 'friend', op: 'accept', id: id(x) });
          await Promise.all([
            link(x).request({ t: 'consent', id: id(y), proximity: consents(x, y), autoAccept: false }),
            link(y).request({ t: 'consent', id: id(x), proximity: consents(y, x), autoAccept: false }),
          ]);
          graphFrames += 4;
        }),
      );
    });
    return {
      users: this.users.length,
      connected: this.users.length - connected.failures,
      connectFailures: connected.failures,
      graphFrames,
      graphErrors: graph.failures,
      firstError: connected.firstError ?? graph.firstError,
      connectMs: t1 - t0,
      graphMs: performance.now() - t1,
    };
  }

  /** Posts `rounds` presence updates per connected user, `window` at a time; timed to the last answer. */
  async presence(rounds: number, window: number): Promise<PresenceResult> {
    const live = this.users.filter((u) => u.link !== undefined);
    let ok = 0;
    let errors = 0;
    let firstError: string | undefined;
    const start = performance.now();
    for (let r = 0; r < rounds; r++) {
      const result = await runLimited(live.length, window, async (i) => {
        const u = live[i]!;
        await u.link!.request({ t: 'presence', cell: u.cell });
        ok += 1;
      });
      errors += result.failures;
      firstError ??= result.firstError;
    }
    return { sent: live.length * rounds, ok, errors, firstError, ms: performance.now() - start };
  }

  /** Waits for the expected notices (or `quietMs` without a new one, at most `capMs`), then disconnects. */
  async collect(quietMs: number, capMs: number): Promise<CollectResult> {
    const start = performance.now();
    await untilQuiet(
      () => this.counts.matched >= this.expected.size,
      () => this.counts.nearby,
      quietMs,
      capMs,
    );
    const waitMs = performance.now() - start;
    this.close();
    return {
      expected: this.expected.size,
      ...this.counts,
      missed: this.expected.size - this.counts.matched,
      waitMs,
    };
  }

  close(): void {
    for (const u of this.users) {
      u.link?.close();
      u.link = undefined;
    }
  }

  private notice(link: SocialLink, n: NoticeSeen): void {
    if (n.kind === 'friend') {
      this.counts.friendNotices += 1;
      return;
    }
    if (n.kind !== 'nearby') return;
    const key = `${link.id}>${n.user}`;
    const earlier = this.seen.get(key);
    if (earlier === n.id) return; // the same entry again (redelivery): not a second notice
    this.counts.nearby += 1;
    if (earlier !== undefined) {
      this.counts.duplicates += 1;
      return;
    }
    this.seen.set(key, n.id);
    if (this.expected.has(key)) this.counts.matched += 1;
    else this.counts.falseMatches += 1;
  }
}
