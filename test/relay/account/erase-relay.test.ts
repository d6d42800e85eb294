import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { toBase64url } from '../../../protocol/index.js';
import { waitFor } from '../../support/poll.js';
import { type Identity, newIdentity, RawClient } from '../../support/raw-client.js';
import {
  approve,
  connectDevice,
  type DeviceSession,
  newDevice,
  refusedDevice,
  request,
  signedRequest,
} from '../../support/raw-device.js';
import { redisBackends } from '../../support/redis-backends.js';
import { dumpText } from '../../support/redis-inspect.js';
import { useRelay } from '../../support/relay-fixture.js';

/*
 * DESIGN P7 against the real relay: an erase removes every key and value that references the
 * user. The test plants a user with all it can leave behind (two devices, friends both ways,
 * pending requests, discovery, a pending contact match, presence, blind tokens, an encounter,
 * messages, a held share part and receipts in other users' mailboxes), erases it, then reads every
 * key and every value of the Redis (the main one and the presence one) and finds none of its names.
 */

const PARIS = latLngToCell(48.8584, 2.2945, 10);
const PARIS_NEXT_DOOR = latLngToCell(48.8588, 2.2945, 10);
const body = (text: string) => new TextEncoder().encode(text);

describe.each(redisBackends())('erasing an account, on %s', (_, backend) => {
  const fx = useRelay({ presenceIntervalMs: 0 }, { backend, presenceInSameRedis: true });

  async function user(): Promise<{ id: Identity; c: RawClient }> {
    const id = await newIdentity();
    const c = await RawClient.login(fx.relay.url, id);
    await c.next('drained');
    return { id, c };
  }

  async function befriend(a: RawClient, b: RawClient, bId: string, aId: string) {
    expect(await request(a, { t: 'friend', op: 'request', id: bId })).toMatchObject({ t: 'ok' });
    expect(await request(b, { t: 'friend', op: 'accept', id: aId })).toMatchObject({ t: 'ok' });
    for (const [x, y] of [
      [a, bId],
      [b, aId],
    ] as const)
      expect(await request(x, { t: 'consent', id: y, proximity: true, autoAccept: true })).toMatchObject({
        t: 'ok',
      });
  }

  async function everything(): Promise<string> {
    const parts: string[] = [];
    for (const admin of fx.backend.admins())
      for (const [key, values] of await dumpText(admin)) parts.push(key, ...values);
    return parts.join('\n');
  }

  it('leaves no key or value naming the user, and its friends see the link gone', async () => {
    const alice = await newIdentity();
    const phone = await newDevice();
    const a1: DeviceSession = await connectDevice(fx.relay.url, phone, alice);
    const tablet = await newDevice();
    expect(await approve(a1, alice, tablet)).toMatchObject({ t: 'ok' });
    const a2 = await connectDevice(fx.relay.url, tablet);
    const [bob, carol, dave, erin] = await Promise.all([user(), user(), user(), user()]);
    const offline = await Promise.all([user(), user(), user()]);
    for (const o of offline) await o.c.close();

    await befriend(a1.client, bob.c, bob.id.id, alice.id);
    await befriend(carol.c, a1.client, alice.id, carol.id.id);
    expect(await request(a1.client, { t: 'friend', op: 'request', id: dave.id.id })).toMatchObject({
      t: 'ok',
    });
    expect(await request(erin.c, { t: 'friend', op: 'request', id: alice.id })).toMatchObject({ t: 'ok' });
    expect(await request(a1.client, { t: 'discover', phone: '+4915112345678' })).toMatchObject({ t: 'ok' });
    expect(await request(a1.client, { t: 'lookup', phones: ['+4915187654321'] })).toMatchObject({
      t: 'lookup',
    });
    // An encounter with bob (marks, notices), then blind tokens.
    expect(await request(bob.c, { t: 'presence', cell: PARIS_NEXT_DOOR })).toMatchObject({ t: 'ok' });
    expect(await request(a1.client, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
    await bob.c.next('notice', (n) => n.kind === 'nearby');
    const token = toBase64url(new Uint8Array(16).fill(7));
    expect(
      await request(a2.client, { t: 'blind', sets: [{ at: token, near: Array(7).fill(token) }] }),
    ).toMatchObject({
      t: 'ok',
    });
    // What alice sent waits in three mailboxes; a share part is held in carol's.
    for (const [i, o] of offline.entries())
      expect(
        await a1.client.sendAndWait({ t: 'send', to: o.id.id, mid: `m${i}`, receipt: true, body: body('x') }),
      ).toMatchObject({ t: 'stored' });
    expect(
      await a1.client.sendAndWait({ t: 'send', to: carol.id.id, mid: 'p1', offer: 's1', body: body('part') }),
    ).toMatchObject({ t: 'stored' });
    // Receipts about alice: bob's message to alice, acked by her phone, files one in bob's mailbox.
    expect(
      await bob.c.sendAndWait({ t: 'send', to: alice.id, mid: 'b1', receipt: true, body: body('y') }),
    ).toMatchObject({ t: 'stored' });
    const got = await a1.client.next('msg', (m) => m.mid === 'b1');
    a1.client.send({ t: 'ack', id: got.id });
    await bob.c.next('receipt', (r) => r.mid === 'b1');

    const names = [alice.id, alice.pk, phone.id, phone.dk, tablet.id, tablet.dk];
    const before = await everything();
    for (const name of [alice.id, phone.id, tablet.id]) expect(before).toContain(name);

    // The export holds exactly what was planted, and of other users only the IDs of the links.
    const reply = await signedRequest(a1, alice, 'export');
    expect(reply.t).toBe('export');
    const text = new TextDecoder().decode(reply.body as Uint8Array);
    const data = JSON.parse(text);
    expect(data).toMatchObject({
      user: alice.id,
      publicKey: alice.pk,
      discoverable: { until: expect.any(Number) },
    });
    expect(data.devices.map((d: { id: string }) => d.id).sort()).toEqual([phone.id, tablet.id].sort());
    const links = Object.fromEntries(data.friends.map((f: { id: string; state: string }) => [f.id, f.state]));
    expect(links).toEqual({
      [bob.id.id]: 'friend',
      [carol.id.id]: 'friend',
      [dave.id.id]: 'outgoing',
      [erin.id.id]: 'incoming',
    });
    expect(data.friends.find((f: { id: string }) => f.id === bob.id.id)).toMatchObject({
      proximity: true,
      autoAccept: true,
      theirProximity: true,
      theirAutoAccept: true,
    });
    expect(data.pendingMatches).toMatchObject({ count: 1 });
    expect(data.presence).toMatchObject({ blind: true, until: expect.any(Number) });
    expect(data.receiptsWaiting).toBe(0);
    expect(data.pushRegistrations).toEqual([]);
    for (const o of offline) expect(text).not.toContain(o.id.id);
    for (const secret of [PARIS, PARIS_NEXT_DOOR, token, '+4915112345678', '+4915187654321'])
      expect(text).not.toContain(secret);

    expect(await signedRequest(a1, alice, 'erase')).toMatchObject({ t: 'ok' });
    expect(await a1.client.closedWith()).toMatchObject({ code: 4011, reason: 'erased' });
    expect(await a2.client.closedWith()).toMatchObject({ code: 4011, reason: 'erased' });

    const left = await waitFor(
      'the erase to finish',
      async () => {
        const dump = await everything();
        return names.every((n) => !dump.includes(n)) && dump;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    // Other users' data is still there.
    for (const u of [bob, carol, dave, erin]) expect(left).toContain(u.id.id);
    // The friends are told only that their list changed, and it no longer names alice.
    for (const f of [bob, carol]) {
      await f.c.next('notice', (n) => n.kind === 'friends');
      const list = await request(f.c, { t: 'friends' });
      expect(JSON.stringify(list)).not.toContain(alice.id);
    }
    // The erased devices are unknown now.
    expect(await refusedDevice(fx.relay.url, tablet)).toEqual({ code: 4008, reason: 'unknown_device' });
    await Promise.all([bob, carol, dave, erin].map((u) => u.c.close()));
  });
});
