import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { ERRORS } from '../../../protocol/index.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { redisBackends } from '../../support/redis-backends.js';
import { dumpKeys } from '../../support/redis-inspect.js';
import { type RedisServer, startRedis } from '../../support/redis-server.js';
import { spawnRelay, stopRelays } from '../../support/relay-child.js';

afterEach(stopRelays);

/** A private redis-server, stopped when the current test ends, pass or fail. */
async function redisForThisTest(): Promise<RedisServer> {
  const redis = await startRedis();
  onTestFinished(() => redis.stop());
  return redis;
}

describe('running the relay', () => {
  it('serves /healthz and /metrics, and stops on SIGTERM closing sockets with going_away', async () => {
    const redis = await redisForThisTest();
    const relay = await spawnRelay({ PASSBY_REDIS_URL: redis.url });
    const health = await fetch(`http://127.0.0.1:${relay.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'redis' });
    const metrics = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
    expect(metrics).toContain('passby_connections_open 0');
    expect(metrics).toContain('passby_errors_total{code="rate_limited"} 0');

    const client = await RawClient.login(relay.url, await newIdentity());
    relay.process.kill('SIGTERM');
    expect((await client.closedWith()).code).toBe(ERRORS.going_away.close);
    expect((await relay.exited).code).toBe(0);
    const messages = relay.logs.map((r) => r.msg);
    expect(messages).toEqual(expect.arrayContaining(['stop requested', 'shutting down', 'relay stopped']));
  });

  it('starts on the in-process store when no Redis is configured, and says so', async () => {
    // A developer's shell may name a Redis; the relay under test must not inherit it.
    vi.stubEnv('PASSBY_REDIS_URL', 'redis://127.0.0.1:1');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const relay = await spawnRelay({});
    const warning = relay.logs.find((r) => typeof r.msg === 'string' && r.msg.includes('in-process store'));
    expect(warning).toMatchObject({ level: 'warn' });
    const health = await fetch(`http://127.0.0.1:${relay.port}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'memory' });
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const rb = await RawClient.login(relay.url, bob);
    const ra = await RawClient.login(relay.url, alice);
    await ra.sendAndWait({ t: 'send', to: bob.id, mid: 'demo', body: new Uint8Array([1]) });
    expect((await rb.next('msg')).mid).toBe('demo');
    relay.process.kill('SIGINT');
    expect((await relay.exited).code).toBe(0);
  });

  it('exits with one message listing every bad variable', async () => {
    await expect(spawnRelay({ PASSBY_PORT: 'x', PASSBY_SEND_BURST: '0' })).rejects.toThrow(
      /PASSBY_PORT[\s\S]*PASSBY_SEND_BURST/,
    );
  });
});

// On one Redis and on a Redis Cluster (3 primaries with a replica each), whose connections the
// relay releases one per node on shutdown.
describe.each(redisBackends())('stopping the relay on %s', (_, startBackend) => {
  it('lets the Redis writes under way on SIGTERM finish, and loses nothing it confirmed', {
    timeout: 60_000,
  }, async () => {
    const redis = await startBackend();
    onTestFinished(() => redis.stop());
    const relay = await spawnRelay({
      ...redis.env,
      PASSBY_LOG_LEVEL: 'debug',
      PASSBY_SEND_BURST: '300',
      PASSBY_SENDS_PER_SECOND: '1',
    });
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    // The one server, or the primary of Bob's mailbox, where every send to him is written.
    const admin = redis.adminFor(`pb:{${bob.id}}:e`);
    await (await RawClient.login(relay.url, bob)).close();
    const sender = await RawClient.login(relay.url, alice);
    const bodies = new Map<string, Buffer>();
    const send = (mid: string) => {
      const body = Buffer.from(`${mid}:${randomBytes(12).toString('hex')}`);
      bodies.set(mid, body);
      sender.send({ t: 'send', to: bob.id, mid, body });
    };

    // A first part of the burst is confirmed before the signal.
    for (let i = 0; i < 100; i++) send(`early-${i}`);
    const confirmed = new Set<string>();
    while (confirmed.size < 100) confirmed.add((await sender.next('stored')).mid);

    // The rest is held at Redis (writes paused), so it is certainly under way when SIGTERM comes.
    // The burst allows 300 sends; the extras beyond it are answered rate_limited at once, without
    // Redis, and the answer to the last one means the relay has read and dispatched every send.
    await admin.call('CLIENT', 'PAUSE', '60000', 'WRITE');
    for (let i = 0; i < 200; i++) send(`late-${i}`);
    for (let i = 0; i < 20; i++) send(`extra-${i}`);
    const last = await sender.next('error', (f) => f.code === 'rate_limited' && f.ref === 'extra-19');
    const refused = new Set([last, ...sender.frames].flatMap((f) => (f.t === 'error' ? [f.ref] : [])));
    const underWay = [...bodies.keys()].filter((mid) => !confirmed.has(mid) && !refused.has(mid));
    expect(underWay.length).toBeGreaterThanOrEqual(200);

    relay.process.kill('SIGTERM');
    expect((await sender.closedWith()).code).toBe(ERRORS.going_away.close);
    await admin.call('CLIENT', 'UNPAUSE');
    expect((await relay.exited).code).toBe(0);
    for (const f of sender.frames) if (f.t === 'stored') confirmed.add(f.mid);

    const dumps = await Promise.all(redis.admins().map((a) => dumpKeys(a)));
    const held = Buffer.concat(dumps.flatMap((d) => [...d.values()].flat())).toString('latin1');
    const missing = (mids: Iterable<string>) =>
      [...mids].filter((mid) => !held.includes(bodies.get(mid)!.toString('latin1')));
    expect(missing(confirmed)).toEqual([]);
    expect(missing(underWay)).toEqual([]);

    // The writes under way finished after shutdown began, and none failed.
    const shutdownAt = relay.logs.findIndex((r) => r.msg === 'shutting down');
    expect(shutdownAt).toBeGreaterThan(0);
    const storedLate = new Set(
      relay.logs.slice(shutdownAt).flatMap((r) => (r.msg === 'stored' ? [r.mid] : [])),
    );
    expect(underWay.filter((mid) => !storedLate.has(mid))).toEqual([]);
    expect(relay.logs.filter((r) => r.level === 'error')).toEqual([]);
  });
});
