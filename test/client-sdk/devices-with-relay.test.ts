import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type Identity,
  type IncomingMessage,
  importIdentity,
  MemoryStorage,
  type PassbyClient,
  pairDevice,
  type SentElsewhere,
} from '../../client-sdk/index.js';
import { redisBackends } from '../support/redis-backends.js';
import { useRelay } from '../support/relay-fixture.js';

/*
 * Protocol version 4 end to end: the SDK's devices, pairing, sent copies, export and erase against
 * the real relay and Redis.
 */
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({}, { backend });
  const clients: PassbyClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
  });

  const fast = { backoff: { baseMs: 20, maxMs: 100 } };

  async function connected(identity: Identity, extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
    const client = await createClient({ url: fixture.relay.url, identity, WebSocket, ...fast, ...extra });
    clients.push(client);
    await client.ready({ timeoutMs: 10_000 });
    return client;
  }

  /** A's identity on a second device B, paired through the relay; returns B and its storage. */
  async function pairSecond(a: PassbyClient): Promise<{ b: PassbyClient; storage: MemoryStorage }> {
    const storage = new MemoryStorage();
    const pairing = await pairDevice({
      url: fixture.relay.url,
      WebSocket,
      storage,
      ...fast,
      timeoutMs: 20_000,
    });
    await a.approveDevice(pairing.payload);
    const b = await pairing.client;
    clients.push(b);
    await b.ready({ timeoutMs: 10_000 });
    return { b, storage };
  }

  function collect(client: PassbyClient): IncomingMessage[] {
    const got: IncomingMessage[] = [];
    client.on('message', (m) => {
      got.push(m);
    });
    return got;
  }

  describe('devices of one identity with a real relay', () => {
    it('pairs a second device: it gets the identity, both get a message once each, and its own sends as sent copies', async () => {
      const [ai, friendIdentity] = await Promise.all([createIdentity(), createIdentity()]);
      const a = await connected(ai);
      const { b, storage } = await pairSecond(a);
      expect(b.id).toBe(a.id);
      expect(b.deviceId).toBeDefined();
      expect(b.deviceId).not.toBe(a.deviceId);
      expect(await storage.get('identity')).toBe(ai.export());

      const devices = await a.devices();
      expect(devices.map((d) => d.id).sort()).toEqual([a.deviceId, b.deviceId].sort());
      expect(devices.find((d) => d.current)?.id).toBe(a.deviceId);

      const friend = await connected(friendIdentity);
      const [atA, atB] = [collect(a), collect(b)];
      const bothGot = Promise.all([a.once('message'), b.once('message')]);
      const sent = await friend.send(a.id, 'to both of you');
      await bothGot;
      expect(atA).toMatchObject([{ from: friend.id, mid: sent.mid, text: 'to both of you' }]);
      expect(atB).toMatchObject([{ from: friend.id, mid: sent.mid, text: 'to both of you' }]);

      const copy = b.once('sentElsewhere', { timeoutMs: 10_000 });
      const toFriend = friend.once('message', { timeoutMs: 10_000 });
      const mine = await a.send(friend.id, 'sent from A');
      expect(await toFriend).toMatchObject({ from: a.id, mid: mine.mid, text: 'sent from A' });
      expect(await copy).toEqual<SentElsewhere>({
        to: friend.id,
        mid: mine.mid,
        at: expect.any(Number),
        kind: 'text',
        text: 'sent from A',
      });

      // After reconnecting, nothing comes twice: every device acked what it got.
      await b.close();
      const again = await createClient({
        url: fixture.relay.url,
        identity: ai,
        WebSocket,
        ...fast,
        storage,
        autoConnect: false,
      });
      clients.push(again);
      const late = collect(again);
      // Listening before it connects: an empty mailbox's drained may come with the welcome.
      const drained = again.once('drained', { timeoutMs: 10_000 });
      again.connect();
      await drained;
      expect(late).toEqual([]);
    });

    it('revokes a device: it is closed with device_revoked and cannot connect again', async () => {
      const a = await connected(await createIdentity());
      const { b, storage } = await pairSecond(a);
      const ended = b.once('ended', { timeoutMs: 10_000 });
      await a.revokeDevice(b.deviceId!);
      expect(await ended).toMatchObject({ code: 'device_revoked' });
      expect(b.state).toMatchObject({ kind: 'closed', error: { code: 'device_revoked' } });
      // The same identity and the same device key, from B's storage, in a new process.
      const identity = await importIdentity((await storage.get('identity'))!);
      expect(identity.id).toBe(a.id);
      const retry = await createClient({ url: fixture.relay.url, identity, storage, WebSocket, ...fast });
      clients.push(retry);
      const closed = await retry.once('ended', { timeoutMs: 10_000 });
      expect(closed).toMatchObject({ code: 'device_revoked' });
      expect((await a.devices()).map((d) => d.id)).toEqual([a.deviceId]);
    });

    it('exports what the relay holds about the account', async () => {
      const a = await connected(await createIdentity());
      const { b } = await pairSecond(a);
      const friend = await connected(await createIdentity());
      const accepted = a.once('friend', { timeoutMs: 10_000 });
      await a.friends.request(friend.id);
      await friend.friends.accept(a.id);
      await accepted;
      const data = await b.exportAccount();
      expect(data).toMatchObject({
        user: a.id,
        devices: expect.arrayContaining([
          expect.objectContaining({ id: a.deviceId, pending: false }),
          expect.objectContaining({ id: b.deviceId, pending: false }),
        ]),
        friends: [expect.objectContaining({ id: friend.id, state: 'friend' })],
        discoverable: null,
        presence: null,
      });
      expect(data.devices).toHaveLength(2);
      expect(JSON.stringify(data)).not.toContain('+49');
    });

    it('erases the account: every device is closed with erased, the local store wiped, friends told', async () => {
      const ai = await createIdentity();
      const aStorage = new MemoryStorage();
      const a = await connected(ai, { storage: aStorage });
      const { b, storage } = await pairSecond(a);
      const friend = await connected(await createIdentity());
      const accepted = a.once('friend', { timeoutMs: 10_000 });
      await a.friends.request(friend.id);
      await friend.friends.accept(a.id);
      await accepted;
      await friend.friends.list(); // the friend's SDK keeps the list it read
      const removed = friend.once('friend', { timeoutMs: 20_000 });
      const bEnded = b.once('ended', { timeoutMs: 10_000 });
      await a.eraseAccount();
      expect(a.state.kind).toBe('closed');
      expect(await aStorage.keys('')).toEqual([]);
      expect(await bEnded).toMatchObject({ code: 'erased' });
      expect(b.state).toMatchObject({ kind: 'closed', error: { code: 'erased' } });
      expect(await storage.get('identity')).toBe(ai.export()); // B wipes only when its app says so
      expect(await removed).toEqual({ user: a.id, state: 'removed' });
      expect(await friend.friends.list()).toEqual([]);
    });
  });
});
