import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { redisBackends } from '../support/redis-backends.js';
import { TEST_DISCOVERY_SECRET, useRelay } from '../support/relay-fixture.js';
import { type Header, type Keys, makeKeys, request, WireClient } from './wire.js';

/*
 * Conformance to protocol/PROTOCOL.md, "Version 2", with the document-only client of ./wire.ts:
 * friends and consent, contact discovery, presence and the nearby notice, on the real relay.
 */

// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({ discoverySecret: TEST_DISCOVERY_SECRET }, { backend });

  async function loginV2(keys: Keys): Promise<WireClient> {
    const { client, version } = await WireClient.login(fixture.relay.url, keys, [1, 2]);
    expect(version).toBe(2);
    await client.next('drained');
    return client;
  }

  async function notice(client: WireClient, kind: string): Promise<Header> {
    const { header } = await client.next('notice', (f) => f.header.kind === kind);
    client.send({ t: 'ack', id: header.id });
    return header;
  }

  describe('Version 2', () => {
    it('makes friends by mutual consent and tells both in range with the friend and a window only', async () => {
      const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
      const [a, b] = await Promise.all([loginV2(alice), loginV2(bob)]);

      expect(await request(a, { t: 'friend', op: 'request', id: bob.id })).toMatchObject({ t: 'ok' });
      expect(await notice(b, 'friend')).toMatchObject({ user: alice.id, state: 'incoming' });
      expect(await request(b, { t: 'friend', op: 'accept', id: alice.id })).toMatchObject({ t: 'ok' });
      expect(await notice(a, 'friend')).toMatchObject({ user: bob.id, state: 'friend' });
      expect(await request(a, { t: 'friends' })).toMatchObject({
        friends: [{ id: bob.id, state: 'friend', proximity: false, autoAccept: false }],
      });
      for (const [client, other] of [
        [a, bob],
        [b, alice],
      ] as const) {
        expect(
          await request(client, { t: 'consent', id: other.id, proximity: true, autoAccept: false }),
        ).toMatchObject({ t: 'ok' });
      }

      const ok = await request(a, { t: 'presence', cell: latLngToCell(48.8584, 2.2945, 10) });
      expect(ok).toEqual({ t: 'ok', rid: expect.any(Number) });
      expect(await request(b, { t: 'presence', cell: latLngToCell(48.8586, 2.2946, 10) })).toMatchObject({
        t: 'ok',
      });
      for (const [client, other] of [
        [a, bob],
        [b, alice],
      ] as const) {
        const nearby = await notice(client, 'nearby');
        expect(Object.keys(nearby).sort()).toEqual(['id', 'kind', 'since', 't', 'until', 'user']);
        expect(nearby).toMatchObject({ kind: 'nearby', user: other.id });
        expect(Number(nearby.until) - Number(nearby.since)).toBe(15 * 60_000);
      }
      expect(await request(a, { t: 'presence', cell: latLngToCell(48.8584, 2.2945, 10) })).toMatchObject({
        t: 'error',
        code: 'presence_too_frequent',
        retry: true,
      });
      await Promise.all([a.close(), b.close()]);
    });

    it('finds a contact by phone number and tells both when a looked-up number becomes discoverable', async () => {
      const [alice, bob, carol] = await Promise.all([makeKeys(), makeKeys(), makeKeys()]);
      const [a, b, c] = await Promise.all([loginV2(alice), loginV2(bob), loginV2(carol)]);
      expect(await request(b, { t: 'discover', phone: '+4915112345678' })).toMatchObject({ t: 'ok' });
      const found = await request(a, { t: 'lookup', phones: ['+4915112345678', '+4915187654321'] });
      expect(found.ids).toEqual([bob.id, null]);
      expect((found.tickets as unknown[])[0]).toBeNull();
      const ticket = (found.tickets as string[])[1]!;
      expect(ticket).toMatch(/^[A-Za-z0-9_-]{22}$/);

      expect(await request(c, { t: 'discover', phone: '+4915187654321' })).toMatchObject({ t: 'ok' });
      expect(await notice(a, 'contact')).toMatchObject({ user: carol.id, ticket });
      expect(await notice(c, 'contact')).toMatchObject({ user: alice.id, ticket: null });
      expect(await request(a, { t: 'lookup', phones: ['4915112345678'] })).toMatchObject({
        t: 'error',
        code: 'invalid_field',
      });
      await Promise.all([a.close(), b.close(), c.close()]);
    });

    it('answers a v2 frame on a version-1 session with unknown_type', async () => {
      const keys = await makeKeys();
      const { client } = await WireClient.login(fixture.relay.url, keys);
      client.send({ t: 'friends', rid: 1 });
      expect((await client.next('error')).header).toMatchObject({ code: 'unknown_type', retry: false });
      await client.close();
    });
  });
});
