import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type Identity, newIdentity, RawClient } from '../../support/raw-client.js';
import { redisBackends } from '../../support/redis-backends.js';
import { dumpRedis, useRelay } from '../../support/relay-fixture.js';

async function registered(url: string): Promise<Identity> {
  const identity = await newIdentity();
  const client = await RawClient.login(url, identity);
  await client.next('drained');
  await client.close();
  return identity;
}

// On one Redis and on a Redis Cluster (3 primaries with a replica each), a relay of its own each.
describe.each(redisBackends())('store and forward on %s', (_, backend) => {
  const fixture = useRelay({}, { backend });

  it('delivers a payload sent while the recipient was offline, and leaves no trace after the ack', async () => {
    const alice = await newIdentity();
    const bob = await registered(fixture.relay.url);
    const sender = await RawClient.login(fixture.relay.url, alice);
    const body = randomBytes(3000);
    const stored = await sender.sendAndWait({ t: 'send', to: bob.id, mid: 'offline-1', body });
    expect(stored).toMatchObject({ t: 'stored', mid: 'offline-1', dup: false });

    const receiver = await RawClient.login(fixture.relay.url, bob);
    const msg = await receiver.next('msg');
    expect(msg.from).toBe(alice.id);
    expect(msg.mid).toBe('offline-1');
    expect(Buffer.from(msg.body).equals(body)).toBe(true);
    await receiver.next('drained');
    receiver.send({ t: 'ack', id: msg.id });
    // A key look-up after the ack is answered after the ack was applied (one connection, in order).
    receiver.send({ t: 'keys', rid: 1, ids: [alice.id] });
    await receiver.next('keys');

    const keys = await dumpRedis(fixture.backend);
    const marker = body.subarray(100, 132).toString('latin1');
    for (const [key, value] of keys) {
      expect(key).not.toContain('offline-1');
      expect(value).not.toContain('offline-1');
      expect(value).not.toContain(marker);
      expect(key.includes(bob.id) ? key.endsWith(':pk') : true).toBe(true);
    }
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('delivers at once to a connected recipient, in the order sent', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const receiver = await RawClient.login(fixture.relay.url, bob);
    await receiver.next('drained');
    const sender = await RawClient.login(fixture.relay.url, alice);
    for (let i = 0; i < 20; i++)
      sender.send({ t: 'send', to: bob.id, mid: `live-${i}`, body: Buffer.from(`n${i}`) });
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      const msg = await receiver.next('msg');
      got.push(Buffer.from(msg.body).toString());
      receiver.send({ t: 'ack', id: msg.id });
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('stores a retried send once and redelivers an unacknowledged message after a reconnect', async () => {
    const alice = await newIdentity();
    const bob = await registered(fixture.relay.url);
    const sender = await RawClient.login(fixture.relay.url, alice);
    const first = await sender.sendAndWait({
      t: 'send',
      to: bob.id,
      mid: 'retry-1',
      body: Buffer.from('once'),
    });
    const again = await sender.sendAndWait({
      t: 'send',
      to: bob.id,
      mid: 'retry-1',
      body: Buffer.from('once'),
    });
    expect(first).toMatchObject({ t: 'stored', dup: false });
    expect(again).toMatchObject({ t: 'stored', dup: true });
    expect(again.t === 'stored' && first.t === 'stored' && again.exp === first.exp).toBe(true);

    const r1 = await RawClient.login(fixture.relay.url, bob);
    const m1 = await r1.next('msg');
    await r1.next('drained');
    await r1.close(); // no ack
    const r2 = await RawClient.login(fixture.relay.url, bob);
    const m2 = await r2.next('msg');
    await r2.next('drained');
    expect(m2.id).toBe(m1.id);
    expect(r2.frames.filter((f) => f.t === 'msg')).toHaveLength(0);
    r2.send({ t: 'ack', id: m2.id });
    await Promise.all([sender.close(), r2.close()]);
  });

  it('drains a backlog larger than the delivery window in order, then says drained', async () => {
    const alice = await newIdentity();
    const bob = await registered(fixture.relay.url);
    const sender = await RawClient.login(fixture.relay.url, alice);
    const count = 300; // over twice the default window of 120 unacknowledged deliveries
    for (let i = 0; i < count; i++)
      sender.send({ t: 'send', to: bob.id, mid: `b-${i}`, body: Buffer.from([i % 256]) });
    for (let i = 0; i < count; i++) await sender.next('stored');
    const receiver = await RawClient.login(fixture.relay.url, bob);
    const mids: string[] = [];
    for (let i = 0; i < count; i++) {
      const msg = await receiver.next('msg');
      mids.push(msg.mid);
      receiver.send({ t: 'ack', id: msg.id });
    }
    await receiver.next('drained');
    expect(mids).toEqual(Array.from({ length: count }, (_, i) => `b-${i}`));
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('tells the sender when the recipient acknowledged, when a receipt was asked for', async () => {
    const alice = await newIdentity();
    const bob = await registered(fixture.relay.url);
    const sender = await RawClient.login(fixture.relay.url, alice);
    await sender.next('drained');
    await sender.sendAndWait({ t: 'send', to: bob.id, mid: 'rc-1', body: Buffer.from('x'), receipt: true });
    const receiver = await RawClient.login(fixture.relay.url, bob);
    const msg = await receiver.next('msg');
    receiver.send({ t: 'ack', id: msg.id });
    const receipt = await sender.next('receipt');
    expect(receipt).toMatchObject({ to: bob.id, mid: 'rc-1', status: 'delivered' });
    sender.send({ t: 'ack', id: receipt.id });
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('expires a message with a short TTL undelivered, never delivers it, and tells the sender', async () => {
    const alice = await newIdentity();
    const bob = await registered(fixture.relay.url);
    const sender = await RawClient.login(fixture.relay.url, alice);
    await sender.next('drained');
    const stored = await sender.sendAndWait({
      t: 'send',
      to: bob.id,
      mid: 'short',
      ttl: 1,
      body: Buffer.from('gone'),
      receipt: true,
    });
    expect(stored.t).toBe('stored');
    const receipt = await sender.next('receipt');
    expect(receipt).toMatchObject({ to: bob.id, mid: 'short', status: 'expired' });
    expect(stored.t === 'stored' && receipt.at >= stored.exp).toBe(true);
    sender.send({ t: 'ack', id: receipt.id });

    const receiver = await RawClient.login(fixture.relay.url, bob);
    await receiver.next('drained');
    expect(receiver.frames.filter((f) => f.t === 'msg')).toHaveLength(0);
    const keys = await dumpRedis(fixture.backend);
    for (const [key, value] of keys) expect(`${key} ${value}`).not.toContain('gone');
    await Promise.all([sender.close(), receiver.close()]);
  });
});
