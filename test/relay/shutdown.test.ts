import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../protocol/index.js';
import { newIdentity, RawClient } from '../support/raw-client.js';
import { startRedis } from '../support/redis-server.js';
import { spawnRelay } from '../support/relay-child.js';

describe('running the relay', () => {
  it('serves /healthz and /metrics, and stops on SIGTERM closing sockets with going_away', async () => {
    const redis = await startRedis();
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
    await redis.stop();
  });

  it('starts on the in-process store when no Redis is configured, and says so', async () => {
    const relay = await spawnRelay({});
    const warning = relay.logs.find((r) => typeof r.msg === 'string' && r.msg.includes('in-process store'));
    expect(warning).toMatchObject({ level: 'warn' });
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
