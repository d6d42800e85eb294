import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Clock,
  createIdentity,
  type Identity,
  MemoryStorage,
  type NearbyEvent,
} from '../../client-sdk/index.js';
import { type NoticeFrame, toBase64url } from '../../protocol/index.js';
import { fakeClients } from './fake-clients.js';
import { FakeSocket } from './fake-socket.js';

/*
 * The SDK's side of protocol v2 against a relay played by hand (FakeSocket): what it sends, what
 * it keeps to itself, and when it acknowledges a notice. with-relay-social.test.ts runs the same
 * features against the real relay and Redis.
 */

let me: Identity;
let bob: Identity;
const T0 = 1_800_000_000_000;

beforeAll(async () => {
  [me, bob] = await Promise.all([createIdentity(), createIdentity()]);
});

const { client, connect } = fakeClients(() => me);

/** Real timers, with a wall clock the test sets. */
function settableClock(start = T0): Clock & { time: number } {
  return {
    time: start,
    now() {
      return this.time;
    },
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  };
}

const BERLIN = { latitude: 52.520008, longitude: 13.404954, accuracyMeters: 10 };

function nearbyNotice(since: number): NoticeFrame {
  return {
    t: 'notice',
    id: `n:${bob.id}:near-${since}`,
    kind: 'nearby',
    user: bob.id,
    since,
    until: since + 900_000,
  };
}

describe('location updates on the device', () => {
  it('drops an inaccurate or stale fix, says why, and sends nothing', async () => {
    const clock = settableClock();
    const c = await client({ clock });
    const socket = connect(c);
    const inaccurate = await c.proximity.update({ ...BERLIN, accuracyMeters: 200, timestamp: T0 });
    const stale = await c.proximity.update({ ...BERLIN, timestamp: T0 - 3 * 60_000 });
    expect(inaccurate).toEqual({ sent: false, reason: 'inaccurate' });
    expect(stale).toEqual({ sent: false, reason: 'stale' });
    expect(socket.sent.map((f) => f.t)).toEqual(['hello', 'auth']);
  });

  it('sends only the cell of a good fix and resolves once the relay said ok', async () => {
    const clock = settableClock();
    const c = await client({ clock });
    const socket = connect(c);
    const presence = socket.next('presence');
    const result = c.proximity.update({ ...BERLIN, timestamp: T0 - 5_000 });
    const frame = await presence;
    expect(Object.keys(frame).sort()).toEqual(['cell', 'rid', 't']);
    expect(frame.cell).toMatch(/^8a[0-9a-f]{13}$/);
    socket.receive({ t: 'ok', rid: frame.rid });
    expect(await result).toEqual({ sent: true, mode: 'cell' });
  });

  it('skips an update within a minute of the last one and says when the next may go', async () => {
    const clock = settableClock();
    const storage = new MemoryStorage();
    const c = await client({ clock, storage });
    const socket = connect(c);
    const presence = socket.next('presence');
    const first = c.proximity.update({ ...BERLIN, timestamp: T0 });
    socket.receive({ t: 'ok', rid: (await presence).rid });
    await first;
    clock.time = T0 + 59_999;
    expect(await c.proximity.update({ ...BERLIN, timestamp: clock.time })).toEqual({
      sent: false,
      reason: 'too_soon',
      retryAt: T0 + 60_000,
    });
    await c.close();
    // A restarted app with the same storage keeps to the same rule.
    const again = await client({ clock, storage });
    connect(again);
    expect(await again.proximity.update({ ...BERLIN, timestamp: clock.time })).toMatchObject({
      reason: 'too_soon',
    });
    expect(socket.sent.filter((f) => f.t === 'presence')).toHaveLength(1);
  });

  it('says it is busy rather than sending a second update while one awaits its answer', async () => {
    const c = await client({ presenceIntervalMs: 0 });
    const socket = connect(c);
    const presence = socket.next('presence');
    const first = c.proximity.update({ ...BERLIN, timestamp: Date.now() });
    const frame = await presence;
    expect(await c.proximity.update({ ...BERLIN, timestamp: Date.now() })).toEqual({
      sent: false,
      reason: 'busy',
    });
    socket.receive({ t: 'ok', rid: frame.rid });
    expect(await first).toMatchObject({ sent: true });
  });

  it('rejects with the relay code when the relay refuses an update', async () => {
    const c = await client({ presenceIntervalMs: 0 });
    const socket = connect(c);
    const presence = socket.next('presence');
    const update = c.proximity.update({ ...BERLIN, timestamp: Date.now() });
    socket.receive({
      t: 'error',
      code: 'implausible_move',
      message: 'too fast',
      retry: false,
      ref: String((await presence).rid),
    });
    await expect(update).rejects.toMatchObject({ name: 'PassbyError', code: 'implausible_move' });
  });
});

describe('blind mode on the device', () => {
  /** Runs one blind update of `who` (whose only friend is `friend`) against a hand-played relay. */
  async function blindUpdate(who: Identity, friend: Identity, clock: Clock & { time: number }, at = BERLIN) {
    const c = await client({ identity: who, clock });
    c.connect();
    const socket = FakeSocket.latest();
    socket.handshake(who.id);
    const list = socket.next('friends');
    const update = c.proximity.update({ ...at, timestamp: clock.time }, { blind: true });
    const keys = socket.next('keys');
    socket.receive({
      t: 'friends',
      rid: (await list).rid,
      friends: [{ id: friend.id, state: 'friend', proximity: true, autoAccept: false }],
    });
    const request = await keys;
    const blind = socket.next('blind');
    socket.receive({ t: 'keys', rid: request.rid, keys: { [friend.id]: toBase64url(friend.publicKey) } });
    const frame = await blind;
    socket.receive({ t: 'ok', rid: frame.rid });
    expect(await update).toEqual({ sent: true, mode: 'blind', friends: 1 });
    return frame.sets;
  }

  it('derives matching tokens on both devices when their clocks fall either side of an hour', async () => {
    const hour = Math.ceil(T0 / 3_600_000) * 3_600_000;
    const mine = await blindUpdate(me, bob, settableClock(hour + 2 * 60_000));
    const bobs = await blindUpdate(bob, me, settableClock(hour - 2 * 60_000), {
      ...BERLIN,
      latitude: 52.5201,
    });
    expect(mine).toHaveLength(8);
    expect(bobs).toHaveLength(8);
    const myAt = new Set(mine.map((s) => s.at));
    const bobsAt = new Set(bobs.map((s) => s.at));
    expect(bobs.some((s) => s.near.some((t) => myAt.has(t)))).toBe(true);
    expect(mine.some((s) => s.near.some((t) => bobsAt.has(t)))).toBe(true);
  });

  it('derives no matching tokens two hours apart', async () => {
    const hour = Math.ceil(T0 / 3_600_000) * 3_600_000;
    const mine = await blindUpdate(me, bob, settableClock(hour + 30 * 60_000));
    const bobs = await blindUpdate(bob, me, settableClock(hour - 90 * 60_000));
    const myAt = new Set(mine.map((s) => s.at));
    expect(bobs.some((s) => s.near.some((t) => myAt.has(t)))).toBe(false);
  });
});

describe('friend requests before connecting', () => {
  it('waits for the connection, then sends the request', async () => {
    const c = await client();
    const request = c.friends.request(bob.id);
    const socket = connect(c);
    const frame = socket.sent.find((f) => f.t === 'friend');
    if (frame?.t !== 'friend') throw new Error('the request was not sent on open');
    expect(frame).toMatchObject({ op: 'request', id: bob.id });
    socket.receive({ t: 'ok', rid: frame.rid });
    await expect(request).resolves.toBeUndefined();
  });

  it('refuses a malformed ID or consent at once with a TypeError', async () => {
    const c = await client();
    await expect(c.friends.request('not-an-id')).rejects.toBeInstanceOf(TypeError);
    // @ts-expect-error: autoAccept is missing
    await expect(c.friends.setConsent(bob.id, { proximity: true })).rejects.toBeInstanceOf(TypeError);
    await expect(c.discovery.setPhone('0151 1234567')).rejects.toBeInstanceOf(TypeError);
  });
});

describe('notices', () => {
  it('acknowledges a notice only after the handler has resolved', async () => {
    const c = await client();
    let finish!: () => void;
    const handled = new Promise<void>((r) => {
      finish = r;
    });
    const got: NearbyEvent[] = [];
    let called!: () => void;
    const inHandler = new Promise<void>((r) => {
      called = r;
    });
    c.on('nearby', async (n) => {
      got.push(n);
      called();
      await handled;
    });
    const socket = connect(c);
    const notice = nearbyNotice(T0);
    socket.receive(notice);
    await inHandler;
    expect(got).toEqual([{ user: bob.id, since: T0, until: T0 + 900_000 }]);
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
    const ack = socket.next('ack');
    finish();
    expect(await ack).toEqual({ t: 'ack', id: notice.id });
  });

  it('drops a redelivered notice, even after a restart with the same storage', async () => {
    const storage = new MemoryStorage();
    const users: string[] = [];
    const notice: NoticeFrame = {
      t: 'notice',
      id: `n:${bob.id}:friend-in`,
      kind: 'friend',
      user: bob.id,
      state: 'incoming',
    };
    const one = await client({ storage });
    one.on('friend', (f) => {
      users.push(`${f.user} ${f.state}`);
    });
    const s1 = connect(one);
    const ack1 = s1.next('ack');
    s1.receive(notice);
    await ack1;
    await one.close();
    const two = await client({ storage });
    two.on('friend', (f) => {
      users.push(`${f.user} ${f.state}`);
    });
    const s2 = connect(two);
    const ack2 = s2.next('ack');
    s2.receive(notice);
    expect(await ack2).toEqual({ t: 'ack', id: notice.id });
    expect(users).toEqual([`${bob.id} incoming`]);
  });

  it('does not acknowledge a notice whose handler throws, so it comes again', async () => {
    const c = await client();
    c.on('nearby', () => {
      throw new Error('app bug');
    });
    const error = c.once('error');
    const socket = connect(c);
    socket.receive(nearbyNotice(T0));
    expect(await error).toMatchObject({ error: { code: 'handler_failed' } });
    await c.close();
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
  });

  it('acknowledges a notice nobody listens for, so it does not block the mailbox', async () => {
    const c = await client();
    const socket = connect(c);
    const ack = socket.next('ack');
    const notice: NoticeFrame = {
      t: 'notice',
      id: `n:${bob.id}:contact`,
      kind: 'contact',
      user: bob.id,
      ticket: null,
    };
    socket.receive(notice);
    expect(await ack).toEqual({ t: 'ack', id: notice.id });
  });

  it('names the looked-up number in a contact event for its ticket', async () => {
    const c = await client();
    const socket = connect(c);
    const ticket = `${'T'.repeat(21)}A`;
    const sent = socket.next('lookup');
    const lookup = c.discovery.lookup(['+49 151 1234 5678', '0049 1511 2345678', '+1 415 555 0100']);
    const frame = await sent;
    expect(frame.phones).toEqual(['+4915112345678', '+14155550100']);
    socket.receive({ t: 'lookup', rid: frame.rid, ids: [null, bob.id], tickets: [ticket, null] });
    expect(await lookup).toEqual([
      { phone: '+4915112345678', id: null, ticket },
      { phone: '+4915112345678', id: null, ticket },
      { phone: '+14155550100', id: bob.id, ticket: null },
    ]);
    const contact = c.once('contact');
    socket.receive({ t: 'notice', id: `n:${bob.id}:contact`, kind: 'contact', user: bob.id, ticket });
    expect(await contact).toEqual({ user: bob.id, phone: '+4915112345678' });
  });
});

describe('discoverability', () => {
  it('renews itself on the next open once a day has passed, and not before', async () => {
    const clock = settableClock();
    const storage = new MemoryStorage();
    const first = await client({ clock, storage });
    const s1 = connect(first);
    const asked = s1.next('discover');
    const set = first.discovery.setPhone('+49 151 1234 5678');
    s1.receive({ t: 'ok', rid: (await asked).rid });
    await set;
    await first.close();

    clock.time += 23 * 3600_000; // not due yet: opening sends nothing
    const second = await client({ clock, storage });
    const s2 = connect(second);
    const listed = s2.next('friends');
    const list = second.friends.list();
    s2.receive({ t: 'friends', rid: (await listed).rid, friends: [] });
    await list;
    expect(s2.sent.map((f) => f.t)).toEqual(['hello', 'auth', 'friends']);
    await second.close();

    clock.time += 2 * 3600_000; // a day and an hour after setPhone
    const third = await client({ clock, storage });
    const s3 = connect(third);
    const renewed = await s3.next('discover');
    expect(renewed).toMatchObject({ t: 'discover', phone: '+4915112345678' });
    s3.receive({ t: 'ok', rid: renewed.rid });
  });
});
