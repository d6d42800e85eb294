import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  type Identity,
  type IncomingMessage,
  type PassbyClient,
  type Sent,
} from '../../client-sdk/index.js';
import { within } from './poll.js';
import { sameDevice } from './same-device.js';

/**
 * What the apps saw during a fault test, counted by (sender, mid): every send the relay confirmed
 * and every message handed to a receiving app. "Lost" and "duplicate" are measured here, at the
 * app, after the SDK's own dedupe, which is the promise passby makes (DESIGN D2, D4).
 */
export class AppLedger {
  /** `<from>/<mid>` of every confirmed send. */
  readonly confirmed = new Set<string>();
  /** `<from>/<mid>` -> how many times an app was handed it. */
  readonly seen = new Map<string, number>();
  /** Sends whose promise rejected (the SDK gave up), with the reason. */
  readonly refused = new Map<string, string>();

  confirm(from: string, mid: string): void {
    this.confirmed.add(`${from}/${mid}`);
  }

  see(from: string, mid: string): void {
    const key = `${from}/${mid}`;
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
  }

  /** Confirmed sends no app has seen (yet). */
  lost(): string[] {
    return [...this.confirmed].filter((key) => !this.seen.has(key));
  }

  /** Messages an app was handed more than once. */
  duplicates(): string[] {
    return [...this.seen].filter(([, n]) => n > 1).map(([key]) => key);
  }

  /** Counts every message `client` hands its app; `hold` may delay the handler (and so the ack). */
  receiveWith(client: PassbyClient, hold?: (m: IncomingMessage) => Promise<void> | undefined): void {
    client.on('message', (m) => {
      this.see(m.from, m.mid);
      return hold?.(m);
    });
  }

  /** Sends through the SDK and records the confirmation (or the refusal) when it comes. */
  send(client: PassbyClient, to: string, text: string, mid: string): Promise<Sent | undefined> {
    return client.send(to, text, { mid }).then(
      (sent) => {
        this.confirm(client.id, sent.mid);
        return sent;
      },
      (err: unknown) => {
        this.refused.set(`${client.id}/${mid}`, err instanceof Error ? err.message : String(err));
        return undefined;
      },
    );
  }
}

/**
 * SDK clients of one test, with quick reconnects (a relay that comes back is found within a few
 * hundred ms, not the 20 s an app would wait at most), closed together in afterEach.
 */
export class AppClients {
  readonly #open: PassbyClient[] = [];

  async connect(url: string, identity: Identity, extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
    const client = await createClient({
      url,
      identity,
      // One device per identity: the app restarts on the same phone.
      storage: sameDevice(identity),
      WebSocket,
      backoff: { baseMs: 50, maxMs: 250 },
      ...extra,
    });
    this.#open.push(client);
    if (client.state.kind !== 'open' && extra.autoConnect !== false) await client.once('open');
    return client;
  }

  /**
   * Connects with `before` called on the client first (to count its messages from the start),
   * and resolves once the relay has handed over the backlog (`drained`): from then on an entry
   * reaches it only by a doorbell, a direct offer or a pull.
   */
  async connectDrained(
    url: string,
    identity: Identity,
    before: (client: PassbyClient) => void = () => {},
    extra: Partial<ClientOptions> = {},
  ): Promise<PassbyClient> {
    const client = await this.connect(url, identity, { ...extra, autoConnect: false });
    before(client);
    const drained = client.once('drained');
    client.connect();
    await within('the backlog handed over', drained, 10_000);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((c) => c.close()));
  }
}
