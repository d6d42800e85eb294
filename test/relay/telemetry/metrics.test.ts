import { describe, expect, it } from 'vitest';
import { waitFor } from '../../support/poll.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { useRelay } from '../../support/relay-fixture.js';

const fixture = useRelay({ adminPort: 0 });

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${fixture.relay.adminPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of the sample `series` (name with its labels, as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every label name used by any sample. */
function labelNames(text: string): string[] {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    for (const m of line.matchAll(/[{,]([a-zA-Z_]+)="/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

describe('metrics', () => {
  it('serves /metrics on the admin port only, and /healthz on both', async () => {
    const pub = await fetch(`http://127.0.0.1:${fixture.relay.port}/metrics`);
    expect(pub.status).toBe(404);
    const health = await fetch(`http://127.0.0.1:${fixture.relay.adminPort}/healthz`);
    expect(await health.json()).toMatchObject({ status: 'ok', store: 'redis' });
    expect((await fetch(`http://127.0.0.1:${fixture.relay.port}/healthz`)).status).toBe(200);
  });

  it('measures store latency, delivery latency and frame sizes for a message sent and acked', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const ra = await RawClient.login(fixture.relay.url, alice);
    const rb = await RawClient.login(fixture.relay.url, bob);
    await ra.sendAndWait({ t: 'send', to: bob.id, mid: 'measured', body: Buffer.alloc(3000, 1) });
    const msg = await rb.next('msg');
    rb.send({ t: 'ack', id: msg.id });
    const text = await waitFor(
      'the ack in the delivery latency histogram',
      async () => {
        const t = await scrape();
        return (sample(t, 'passby_delivery_latency_seconds_count{queued="false"}') ?? 0) >= 1 && t;
      },
      { timeoutMs: 5_000 },
    );
    expect(sample(text, 'passby_messages_stored_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'passby_messages_acked_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'passby_store_seconds_count{op="mailbox.send"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'passby_store_seconds_count{op="mailbox.ack"}')).toBeGreaterThanOrEqual(1);
    // The 3000-byte body went in (a send frame) and out (a msg frame) in frames over 1 KiB.
    expect(sample(text, 'passby_frame_bytes_bucket{le="1024",direction="in"}')).toBeLessThan(
      sample(text, 'passby_frame_bytes_count{direction="in"}')!,
    );
    expect(sample(text, 'passby_frame_bytes_count{direction="out"}')).toBeGreaterThanOrEqual(1);
    // No series names a user.
    expect([alice.id, bob.id].filter((id) => text.includes(id))).toEqual([]);
    await Promise.all([ra.close(), rb.close()]);
  });

  it('reports the build, the process and runtime, and each Redis connection', async () => {
    const text = await scrape();
    expect(text).toMatch(/^passby_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+[^"]*"\} 1$/m);
    for (const name of [
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_gc_duration_seconds',
      'nodejs_heap_size_used_bytes',
      'process_resident_memory_bytes',
      'nodejs_active_handles_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    for (const role of ['command', 'subscriber', 'social'])
      expect(sample(text, `passby_redis_connected{role="${role}"}`)).toBe(1);
    expect(labelNames(text)).toEqual(
      expect.arrayContaining(['code', 'direction', 'le', 'op', 'queued', 'role', 'version']),
    );
    // prom-client's own: kind (GC), space (heap), type (handles), major/minor/patch (nodejs_version_info).
    const allowed = [
      'code',
      'direction',
      'kind',
      'le',
      'major',
      'minor',
      'node',
      'op',
      'patch',
      'queued',
      'reason',
      'role',
    ].concat(['space', 'type', 'version']);
    expect(labelNames(text).filter((n) => !allowed.includes(n))).toEqual([]);
  });

  it('shows a lost Redis connection as 0 and counts it back at 1 when Redis returns', async () => {
    await fixture.redis.crash();
    await waitFor(
      'the command connection reported down',
      async () => sample(await scrape(), 'passby_redis_connected{role="command"}') === 0,
      { timeoutMs: 10_000 },
    );
    await fixture.redis.start();
    await waitFor(
      'every connection reported up again',
      async () => {
        const text = await scrape();
        return ['command', 'subscriber', 'social'].every(
          (role) => sample(text, `passby_redis_connected{role="${role}"}`) === 1,
        );
      },
      { timeoutMs: 10_000 },
    );
  });
});
