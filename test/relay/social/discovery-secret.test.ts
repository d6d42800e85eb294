import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Relay, startRelay } from '../../../relay/index.js';
import { discoveryFingerprint, FINGERPRINT_KEY } from '../../../relay/social/discovery-fingerprint.js';
import { LogSink } from '../../support/log-sink.js';
import { type Identity, newIdentity, RawClient } from '../../support/raw-client.js';
import { type RedisServer, startRedis } from '../../support/redis-server.js';

const OLD = 'the-discovery-secret-before-rotation-0001';
const NEW = 'the-discovery-secret-after-rotation-00002';
let redis: RedisServer;
const relays: Relay[] = [];
const clients: RawClient[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const r of relays.splice(0)) await r.close();
  await redis.client().flushall();
});
afterAll(async () => {
  await redis.stop();
});

async function node(secret: string, old: string | null = null, logs?: LogSink): Promise<Relay> {
  const config = { redisUrl: redis.url, discoverySecret: secret, discoverySecretPrevious: old };
  const relay = await startRelay(logs ? { config, logger: createLogger('info', logs.stream) } : { config });
  relays.push(relay);
  return relay;
}

async function login(relay: Relay, identity: Identity): Promise<RawClient> {
  const client = await RawClient.login(relay.url, identity);
  clients.push(client);
  await client.next('drained');
  return client;
}

let nextRid = 1;
async function request(client: RawClient, frame: Record<string, unknown>) {
  const rid = nextRid++;
  client.send({ ...frame, rid } as never);
  return client.nextOf('ok', 'error', 'lookup');
}

describe('the discovery secret across relay nodes', () => {
  it('refuses to start a node whose secret differs from the one its Redis was started with', async () => {
    await node(OLD);
    await node(OLD);
    await expect(node(NEW)).rejects.toThrow(
      'PASSBY_DISCOVERY_SECRET differs from the one the other relay nodes on this Redis use',
    );
  });

  it('stores a keyed fingerprint that reveals neither the secret nor its plain hash', async () => {
    const logs = new LogSink();
    await node(OLD, null, logs);
    const stored = await redis.client().get(FINGERPRINT_KEY);
    expect(stored).toBe(discoveryFingerprint(OLD));
    expect(stored).not.toBe(createHash('sha256').update(OLD).digest('hex'));
    expect(stored).not.toContain(OLD);
    expect(JSON.stringify(logs.records)).not.toContain(OLD);
    expect(JSON.stringify(logs.records)).not.toContain(stored!);
  });

  it('rotates without breaking a look-up: the old key finds entries and pending matches made before', async () => {
    const [ai, bi, ci, di] = await Promise.all([newIdentity(), newIdentity(), newIdentity(), newIdentity()]);
    const before = await node(OLD);
    // Before the rotation: a is discoverable, b looked up a number nobody had yet.
    const a = await login(before, ai);
    expect(await request(a, { t: 'discover', phone: '+15550100001' })).toMatchObject({ t: 'ok' });
    const b = await login(before, bi);
    const waiting = await request(b, { t: 'lookup', phones: ['+15550100002'] });
    expect(waiting).toMatchObject({ t: 'lookup', ids: [null] });
    const ticket = waiting.t === 'lookup' ? waiting.tickets[0] : undefined;

    // A node with the new secret and the old one as the previous takes over the fingerprint.
    const after = await node(NEW, OLD);
    expect(await redis.client().get(FINGERPRINT_KEY)).toBe(discoveryFingerprint(NEW));
    const d = await login(after, di);
    expect(await request(d, { t: 'lookup', phones: ['+15550100001'] })).toMatchObject({
      t: 'lookup',
      ids: [ai.id],
      tickets: [null],
    });
    // c becomes discoverable under the number b looked up before: b hears of it with its ticket.
    const c = await login(after, ci);
    expect(await request(c, { t: 'discover', phone: '+15550100002' })).toMatchObject({ t: 'ok' });
    expect(await b.next('notice')).toMatchObject({ kind: 'contact', user: ci.id, ticket });

    // From now on a node with only the old secret is refused; one with the new secret starts.
    await expect(node(OLD)).rejects.toThrow('PASSBY_DISCOVERY_SECRET differs');
    const later = await node(NEW);
    const e = await login(later, await newIdentity());
    expect(await request(e, { t: 'lookup', phones: ['+15550100002'] })).toMatchObject({ ids: [ci.id] });
  });
});
