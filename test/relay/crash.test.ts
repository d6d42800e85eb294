import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../protocol/index.js';
import { newIdentity, RawClient } from '../support/raw-client.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { spawnRelay, stopRelays } from '../support/relay-child.js';
import { until } from '../support/until.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis({ persistence: true });
});
// Relay processes die after each test and Redis after the file, even when an assertion failed.
afterEach(stopRelays);
afterAll(async () => {
  await redis?.stop();
});

describe('durability', () => {
  it('delivers everything it confirmed after the relay process is killed with SIGKILL', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const first = await spawnRelay({ PASSBY_REDIS_URL: redis.url });
    const receiver = await RawClient.login(first.url, bob);
    await receiver.close();
    const sender = await RawClient.login(first.url, alice);
    const confirmed = new Set<string>();
    const sent = new Map<string, Buffer>();
    for (let i = 0; i < 200; i++) {
      const body = randomBytes(64 + i);
      sent.set(`k-${i}`, body);
      sender.send({ t: 'send', to: bob.id, mid: `k-${i}`, body });
    }
    // Kill once about half are confirmed; sends without a `stored` answer were never promised.
    while (confirmed.size < 100) confirmed.add((await sender.next('stored')).mid);
    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    for (const f of sender.frames) if (f.t === 'stored') confirmed.add(f.mid);

    const second = await spawnRelay({ PASSBY_REDIS_URL: redis.url });
    const back = await RawClient.login(second.url, bob);
    const received = new Map<string, Buffer>();
    for (;;) {
      const f = await back.nextOf('msg', 'drained');
      if (f.t === 'drained') break;
      received.set(f.mid, Buffer.from(f.body));
      back.send({ t: 'ack', id: f.id });
    }
    expect(confirmed.size).toBeGreaterThanOrEqual(100);
    for (const mid of confirmed) expect(received.get(mid), mid).toEqual(sent.get(mid));
    // Whatever arrived unconfirmed (stored just before the kill) is still what was sent.
    for (const [mid, body] of received) expect(body, mid).toEqual(sent.get(mid));
    await back.close();
    second.process.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });

  it('survives a Redis restart with persistence on', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const relay = await spawnRelay({ PASSBY_REDIS_URL: redis.url });
    (await RawClient.login(relay.url, bob)).ws.close();
    const sender = await RawClient.login(relay.url, alice);
    expect(
      (await sender.sendAndWait({ t: 'send', to: bob.id, mid: 'aof', body: Buffer.from('kept') })).t,
    ).toBe('stored');
    await redis.restart();
    // While Redis is down the relay refuses what needs it (store_unavailable); once /healthz says
    // it is back, the message that was stored before is there.
    await until('the relay reports Redis back', async () => {
      const res = await fetch(`http://127.0.0.1:${relay.port}/healthz`);
      return res.status === 200;
    });
    const receiver = await RawClient.login(relay.url, bob);
    const msg = await receiver.next('msg');
    expect(Buffer.from(msg.body).toString()).toBe('kept');
    relay.process.kill('SIGTERM');
    expect((await receiver.closedWith()).code).toBe(ERRORS.going_away.close);
    expect((await relay.exited).code).toBe(0);
  });
});
