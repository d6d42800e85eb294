import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { redisBackends } from '../support/redis-backends.js';
import { useRelay } from '../support/relay-fixture.js';
import { type Frame, type Keys, makeKeys, WireClient } from './wire.js';

/*
 * Conformance to protocol/PROTOCOL.md, "Version 3: batched acks and confirmations", with the
 * document-only client of ./wire.ts, on the real relay.
 */

// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, backend) => {
  const fixture = useRelay({}, { backend });

  async function login(keys: Keys, versions: number[]): Promise<{ client: WireClient; version: number }> {
    const { client, version } = await WireClient.login(fixture.relay.url, keys, versions);
    await client.next('drained');
    return { client, version };
  }

  type Item = { to: string; mid: string; exp: number; dup: boolean };

  /** Reads `stored` frames until `count` confirmations have come; returns the frames. */
  async function confirmations(client: WireClient, count: number): Promise<Frame[]> {
    const frames: Frame[] = [];
    let items = 0;
    while (items < count) {
      const frame = await client.next('stored');
      frames.push(frame);
      items += (frame.header.items as Item[]).length;
    }
    return frames;
  }

  describe('Version 3: batched acks and confirmations', () => {
    it('confirms sends in stored.items and deletes every entry an ack.ids names', async () => {
      const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
      const a = await login(alice, [3, 2, 1]);
      const b = await login(bob, [3]);
      expect([a.version, b.version]).toEqual([3, 3]);

      const bodies = new Map<string, Buffer>();
      for (let i = 0; i < 5; i++) {
        const mid = `v3-${i}`;
        bodies.set(mid, randomBytes(40 + i));
        a.client.send({ t: 'send', to: bob.id, mid, receipt: i === 0 }, bodies.get(mid));
      }
      const stored = await confirmations(a.client, 5);
      const items = stored.flatMap((f) => f.header.items as Item[]);
      for (const f of stored) expect(Object.keys(f.header).sort()).toEqual(['items', 't']);
      expect(items.map((i) => i.mid).sort()).toEqual([...bodies.keys()]);
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(['dup', 'exp', 'mid', 'to']);
        expect(item).toMatchObject({ to: bob.id, dup: false });
      }

      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { header, body } = await b.client.next('msg');
        expect(Buffer.from(body).equals(bodies.get(String(header.mid))!)).toBe(true);
        ids.push(String(header.id));
      }
      // One frame acks all five; a repeated ID is harmless. The receipt proves the ack was taken.
      b.client.send({ t: 'ack', ids: [...ids, ids[0]] });
      const { header: receipt } = await a.client.next('receipt');
      expect(receipt).toMatchObject({ to: bob.id, mid: 'v3-0', status: 'delivered' });
      a.client.send({ t: 'ack', ids: [receipt.id] });
      await b.client.close();

      // Nothing is delivered again: the next connection's backlog is empty.
      const again = await WireClient.login(fixture.relay.url, bob, [3]);
      const first = await again.client.nextWhere((f) => f.header.t === 'msg' || f.header.t === 'drained');
      expect(first.header.t).toBe('drained');
      await Promise.all([a.client.close(), again.client.close()]);
    });

    it('puts at most 64 confirmations in one frame', async () => {
      const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
      const a = await login(alice, [3]);
      const b = await login(bob, [3]);
      for (let i = 0; i < 150; i++)
        a.client.send({ t: 'send', to: bob.id, mid: `many-${i}` }, randomBytes(8));
      const stored = await confirmations(a.client, 150);
      for (const f of stored) expect((f.header.items as Item[]).length).toBeLessThanOrEqual(64);
      // Sent in one go, they were stored a batch at a time and confirmed together.
      expect(stored.length).toBeLessThan(150);
      const mids = stored.flatMap((f) => (f.header.items as Item[]).map((i) => i.mid));
      expect(new Set(mids).size).toBe(150);
      await Promise.all([a.client.close(), b.client.close()]);
    });

    it('refuses ack.ids in older sessions and batches of the wrong shape', async () => {
      const [old, keys] = await Promise.all([makeKeys(), makeKeys()]);
      const v2 = await login(old, [2, 1]);
      expect(v2.version).toBe(2);
      const id = `m:${keys.id}:x`;
      v2.client.send({ t: 'ack', ids: [id] });
      expect((await v2.client.next('error')).header).toMatchObject({ code: 'invalid_field', retry: false });

      const v3 = await login(keys, [3]);
      for (const header of [
        { t: 'ack', ids: [] },
        { t: 'ack', ids: Array(65).fill(id) },
        { t: 'ack', id, ids: [id] },
        { t: 'ack', ids: ['not-an-entry-id'] },
      ]) {
        v3.client.send(header);
        expect((await v3.client.next('error')).header).toMatchObject({ code: 'invalid_field' });
      }
      await Promise.all([v2.client.close(), v3.client.close()]);
    });
  });
});
