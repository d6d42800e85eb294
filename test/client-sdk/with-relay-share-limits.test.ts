import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { waitFor } from '../support/poll.js';
import { dumpRedis, type RelayFixture, useRelay } from '../support/relay-fixture.js';
import { sameDevice } from '../support/same-device.js';

/*
 * Shares against the relay's limits (issue 15, item 2): nothing hangs. A share the recipient's
 * mailbox can never hold is refused before it starts, a part refused for quota ends the share, the
 * parts of an unfinished share leave soon, and a relay may refuse shares from non-friends.
 */

const KIB = 1024;
const QUOTA = 256 * KIB;
const clients: PassbyClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

const bytes = (size: number) => new Uint8Array(size).map((_, i) => (i * 7 + 3) & 255);

async function client(fixture: RelayFixture, extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
  const identity = extra.identity ?? (await createIdentity());
  const c = await createClient({
    url: fixture.relay.url,
    identity,
    storage: sameDevice(identity),
    WebSocket,
    ...extra,
  });
  clients.push(c);
  if (extra.autoConnect !== false && c.state.kind !== 'open') await c.once('open');
  return c;
}

/** A user the relay knows (it connected once) and who is offline now, so its mailbox fills. */
async function offlineUser(fixture: RelayFixture): Promise<string> {
  const c = await client(fixture);
  await c.close();
  return c.id;
}

/** Keys of held share groups in Redis (pb:{uid}:h:<from>:<share mid>). */
async function heldGroups(fixture: RelayFixture): Promise<string[]> {
  return [...(await dumpRedis(fixture.redis)).keys()].filter((k) => k.includes(':h:'));
}

describe('a share against the recipient quota', () => {
  const fixture = useRelay({ mailboxMaxBytes: QUOTA, heldPartsTtlSeconds: 1 });

  it('announces the hold time and the share policy in welcome', async () => {
    const alice = await client(fixture);
    expect(alice.limits).toMatchObject({
      mailboxMaxBytes: QUOTA,
      heldPartsTtlSeconds: 1,
      strangerShares: true,
    });
  });

  it('refuses a share larger than the quota before anything is sent', async () => {
    const alice = await client(fixture);
    const bob = await offlineUser(fixture);
    const share = alice.share(bob, { file: bytes(QUOTA + KIB), name: 'big.bin' }, { preview: 'big' });
    await expect(share).rejects.toMatchObject({ name: 'PassbyError', code: 'payload_too_large' });
    expect(alice.outbox.size).toBe(0);
    expect(await heldGroups(fixture)).toEqual([]);
  });

  it('ends a share with quota_exceeded once its parts fill the mailbox, and frees them soon', async () => {
    const alice = await client(fixture);
    const carol = await client(fixture);
    const bob = await offlineUser(fixture);
    for (let i = 0; i < 3; i++) await carol.send(bob, bytes(50 * KIB)); // 150 KiB of 256 waiting
    const share = alice.share(bob, { file: bytes(200 * KIB), name: 'lake.jpg' }, { preview: 'lake' });
    await expect(share).rejects.toMatchObject({ name: 'PassbyError', code: 'quota_exceeded' });
    expect(alice.outbox.size).toBe(0);
    // The held parts expire a second after the latest one; then a friend's file fits again.
    await waitFor('the held parts to expire', async () => (await heldGroups(fixture)).length === 0, {
      timeoutMs: 10_000,
    });
    await expect(carol.sendFile(bob, bytes(90 * KIB), { name: 'note.bin' })).resolves.toMatchObject({
      size: 90 * KIB,
    });
  });
});

describe('a plain send to a full mailbox', () => {
  const fixture = useRelay({ mailboxMaxBytes: 64 * KIB });

  it('says once why it waits, shows it in the outbox, and goes out when the mailbox drains', async () => {
    const alice = await client(fixture);
    const bobId = await createIdentity();
    const bob1 = await client(fixture, { identity: bobId });
    await bob1.close();
    await alice.send(bobId.id, bytes(60 * KIB)); // the mailbox is nearly full
    const errors: string[] = [];
    alice.on('error', ({ error, mid }) => {
      errors.push(`${error.code} ${mid}`);
    });
    const waiting = alice.send(bobId.id, bytes(10 * KIB), { mid: 'later' });
    await waitFor('the refusal', () => errors.length > 0, { timeoutMs: 5000 });
    expect(alice.outbox.list()).toMatchObject([{ mid: 'later', refused: 'quota_exceeded' }]);
    const bob = await client(fixture, { identity: bobId });
    bob.on('message', () => undefined); // reading the mailbox frees it
    await expect(waiting).resolves.toMatchObject({ mid: 'later' });
    expect(errors).toEqual(['quota_exceeded later']);
  });
});

describe('cancelling', () => {
  const fixture = useRelay();

  it('cancels a sendFile by its AbortSignal and a send through outbox.cancel while offline', async () => {
    const bob = await offlineUser(fixture);
    const alice = await client(fixture, { autoConnect: false });
    const abort = new AbortController();
    const file = alice.sendFile(bob, bytes(10 * KIB), { name: 'a.bin' }, { signal: abort.signal });
    const message = alice.send(bob, 'never mind', { mid: 'm-cancel' });
    await waitFor('both sends in the outbox', () => alice.outbox.size === 2, { timeoutMs: 5000 });
    expect(alice.outbox.list().map((i) => i.state)).toEqual(['queued', 'queued']);
    abort.abort();
    await expect(file).rejects.toMatchObject({ name: 'ClientError', code: 'cancelled' });
    expect(alice.outbox.cancel('m-cancel')).toBe(1);
    await expect(message).rejects.toMatchObject({ name: 'ClientError', code: 'cancelled' });
    expect(alice.outbox.list()).toEqual([]);
  });

  it('cancels a share by its AbortSignal, and refuses one whose signal already fired', async () => {
    const bob = await offlineUser(fixture);
    const alice = await client(fixture, { autoConnect: false });
    const abort = new AbortController();
    const share = alice.share(bob, 'see you', { preview: 'hi', signal: abort.signal });
    await waitFor('the part in the outbox', () => alice.outbox.size === 1, { timeoutMs: 5000 });
    abort.abort();
    await expect(share).rejects.toMatchObject({ code: 'cancelled' });
    expect(alice.outbox.size).toBe(0);
    await expect(alice.share(bob, 'again', { preview: 'hi', signal: abort.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
  });
});

describe('a relay that files shares only from friends (PASSBY_STRANGER_SHARES=0)', () => {
  const fixture = useRelay({ strangerShares: 0 });

  it('refuses a share from a non-friend with not_friends and files one from a friend', async () => {
    const alice = await client(fixture);
    const bob = await client(fixture);
    expect(alice.limits?.strangerShares).toBe(false);
    await expect(alice.share(bob.id, 'hello stranger', { preview: 'hi' })).rejects.toMatchObject({
      name: 'PassbyError',
      code: 'not_friends',
    });
    const befriended = alice.once('friend');
    await alice.friends.request(bob.id);
    await bob.friends.accept(alice.id);
    await befriended;
    const offered = bob.once('offer');
    const shared = await alice.share(bob.id, 'hello friend', { preview: 'hi' });
    expect(await offered).toMatchObject({ from: alice.id, mid: shared.mid });
  });
});
