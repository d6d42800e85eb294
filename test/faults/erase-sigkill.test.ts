import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../relay/mailbox/redis.js';
import { health } from '../support/healthz.js';
import { waitFor } from '../support/poll.js';
import { newIdentity } from '../support/raw-client.js';
import { connectDevice, newDevice, signedRequest } from '../support/raw-device.js';
import { type RedisBackend, redisBackends } from '../support/redis-backends.js';
import { dumpText } from '../support/redis-inspect.js';
import { freePort } from '../support/redis-server.js';
import { type RelayChild, spawnRelay, stopRelays } from '../support/relay-child.js';

/*
 * DESIGN P7, "also when the erase is interrupted by a crash": the relay journals the erase before
 * it answers `ok`, so a relay SIGKILLed while it removes the user's traces leaves the journal
 * entry, and the next relay on the same Redis finishes the erase. The user has sent into 1,500
 * mailboxes, so the erase's pass over them is under way when the kill comes right after the `ok`.
 */

const OTHERS = 1_500;
afterEach(() => stopRelays());

describe.each(redisBackends())('an erase interrupted by SIGKILL, on %s', (_, start) => {
  let redis: RedisBackend;
  beforeAll(async () => {
    redis = await start({ persistence: true });
  }, 60_000);
  afterAll(() => redis?.stop());

  async function everything(): Promise<string> {
    const parts: string[] = [];
    for (const admin of redis.admins())
      for (const [key, values] of await dumpText(admin)) parts.push(key, ...values);
    return parts.join('\n');
  }

  async function relayUp(env: Record<string, string>): Promise<RelayChild> {
    const relay = await spawnRelay(env);
    expect(await health(relay.port)).toMatchObject({ code: 200, status: 'ok' });
    return relay;
  }

  it('is finished by the next relay', { timeout: 120_000 }, async () => {
    const env = {
      ...redis.env,
      PASSBY_PORT: String(await freePort()),
      // The planting is 1,500 sends in a few hundred ms, beyond a client's default rate.
      PASSBY_SENDS_PER_SECOND: '100000',
      PASSBY_SEND_BURST: '100000',
    };
    // The recipients exist (a user who ever authenticated); planted straight into the store.
    const planter = await createRedisStore({
      endpoint: redis.endpoint,
      limits: { mailboxMaxMessages: 100, mailboxMaxBytes: 1 << 20, receiptTtlMs: 60_000 },
    });
    const others = await Promise.all(Array.from({ length: OTHERS }, () => newIdentity()));
    await Promise.all(others.map((o) => planter.register(o.id, o.pk)));
    await planter.close();

    const first = await relayUp(env);
    const alice = await newIdentity();
    const device = await newDevice();
    const session = await connectDevice(first.url, device, alice);
    for (let i = 0; i < OTHERS; i += 100) {
      const batch = others.slice(i, i + 100).map((o, j) =>
        session.client.sendAndWait({
          t: 'send',
          to: o.id,
          mid: `m${i + j}`,
          receipt: true,
          body: new Uint8Array([1]),
        }),
      );
      for (const answer of await Promise.all(batch)) expect(answer.t).toBe('stored');
    }
    expect(await signedRequest(session, alice, 'erase')).toMatchObject({ t: 'ok' });
    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // Killed mid-erase: the journal still holds alice, and some of her messages still wait.
    const journal: string[] = [];
    for (const admin of redis.admins())
      for (const [key, values] of await dumpText(admin))
        if (key.startsWith('pb:erase:')) journal.push(...values);
    expect(journal).toContain(alice.id);
    expect(await everything()).toContain(`m:${alice.id}:`);

    await relayUp(env);
    await waitFor(
      'the erase to finish on the next relay',
      async () => !(await everything()).includes(alice.id),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const left = await everything();
    for (const name of [alice.id, alice.pk, device.id, device.dk]) expect(left).not.toContain(name);
    // The recipients are untouched otherwise: each still exists.
    expect(left).toContain(others[0]!.id);
  });
});
