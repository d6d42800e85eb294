import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createIdentity } from '../../client-sdk/index.js';
import { AppClients, AppLedger } from '../support/app-ledger.js';
import { health } from '../support/healthz.js';
import { expectNoKeysLeft } from '../support/leftovers.js';
import { waitFor, within } from '../support/poll.js';
import { type RedisBackend, redisBackends } from '../support/redis-backends.js';
import { freePort } from '../support/redis-server.js';
import { type RelayChild, spawnRelay, stopRelays } from '../support/relay-child.js';
import { SealedSender } from '../support/sealed-sender.js';

/*
 * A relay process SIGKILLed in the middle of a stream, then started again on the same port and
 * Redis (AOF, fsync always). Nothing it confirmed may be lost (D1, D4), no app may see a message
 * twice although the relay delivers again what was not acknowledged (D2), and once everything is
 * acknowledged the mailbox leaves no key behind (P5).
 *
 * On one Redis and on a Redis Cluster (3 primaries with a replica each), one per describe block,
 * emptied before each test so what a failed test left cannot count against the next.
 */
let env: Record<string, string>;
const apps = new AppClients();
const senders: SealedSender[] = [];

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  await apps.closeAll();
  await stopRelays();
});

async function relayUp(): Promise<RelayChild> {
  const relay = await spawnRelay(env);
  // Listening means healthy at once: the first probe answers ok, within the second.
  expect(await health(relay.port)).toMatchObject({ code: 200, status: 'ok' });
  return relay;
}

async function kill(relay: RelayChild): Promise<void> {
  relay.process.kill('SIGKILL');
  expect((await relay.exited).signal).toBe('SIGKILL');
  // Nobody answers on the port now; the probe says so at once rather than hanging.
  expect(await health(relay.port)).toMatchObject({ code: 0, status: 'refused' });
}

describe.each(redisBackends())('a relay killed with SIGKILL mid-stream, on %s', (_, start) => {
  let redis: RedisBackend;
  beforeAll(async () => {
    redis = await start({ persistence: true });
  }, 60_000);
  afterAll(() => redis?.stop());
  beforeEach(async () => {
    await redis.flush();
    env = { ...redis.env, PASSBY_PORT: String(await freePort()) };
  });

  it('hands every confirmed SDK send to the app exactly once after it restarts', async () => {
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    const first = await relayUp();
    const ledger = new AppLedger();
    const bob = await apps.connect(first.url, b);
    let killed: Promise<void> | undefined;
    // The kill comes from inside the app's handler of the 100th message: that one is not yet
    // acknowledged, more are in flight both ways, and the rest wait in the outbox.
    ledger.receiveWith(bob, () => {
      if (ledger.seen.size === 100 && killed === undefined) killed = kill(first);
      return undefined;
    });
    const alice = await apps.connect(first.url, a);
    const count = 300;
    const sends = Array.from({ length: count }, (_, i) => ledger.send(alice, b.id, `m${i}`, `m${i}`));

    await waitFor(
      'the kill',
      () => killed !== undefined,
      { timeoutMs: 10_000 },
      () =>
        `seen ${ledger.seen.size}, confirmed ${ledger.confirmed.size}, refused ${[...ledger.refused.values()].slice(0, 3)}`,
    );
    await killed;
    await relayUp();
    await within('every send confirmed', Promise.all(sends), 15_000);
    await waitFor(
      'every confirmed message at the app',
      () => ledger.lost().length === 0,
      { timeoutMs: 15_000 },
      () => `${ledger.lost().length} missing`,
    );
    expect(ledger.refused).toEqual(new Map());
    expect(ledger.confirmed.size).toBe(count);
    expect(ledger.lost()).toEqual([]);
    expect(ledger.duplicates()).toEqual([]);
    for (const admin of redis.admins()) await expectNoKeysLeft(admin);
  });

  it('keeps every send it answered `stored` before the kill, for a raw sender that never retries', async () => {
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    const first = await relayUp();
    // Bob is offline: what is confirmed waits in Redis through the kill.
    await (await apps.connect(first.url, b)).close();
    const sender = await SealedSender.login(first.url, a);
    senders.push(sender);
    const plaintext = randomBytes(1024);
    const streaming = sender.stream({ to: b, prefix: 'k', count: 400, perSecond: 150, plaintext });
    await waitFor('150 confirmations', () => sender.stored().length >= 150, { timeoutMs: 10_000 });
    await kill(first);
    await streaming;
    const confirmed = sender.stored();
    expect(confirmed.length).toBeGreaterThanOrEqual(150);

    const second = await relayUp();
    const ledger = new AppLedger();
    for (const mid of confirmed) ledger.confirm(a.id, mid);
    await apps.connectDrained(second.url, b, (bob) => ledger.receiveWith(bob));
    expect(ledger.lost()).toEqual([]);
    expect(ledger.duplicates()).toEqual([]);
    // Sends the relay took but never answered may have been stored too: delivered, never twice.
    const unconfirmed = [...ledger.seen.keys()].filter((key) => !ledger.confirmed.has(key));
    expect(unconfirmed.every((key) => key.startsWith(`${a.id}/k`))).toBe(true);
    for (const admin of redis.admins()) await expectNoKeysLeft(admin);
  });
});
