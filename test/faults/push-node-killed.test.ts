import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../../relay/index.js';
import { waitFor } from '../support/poll.js';
import { WebPushService } from '../support/push-services.js';
import { newIdentity, RawClient } from '../support/raw-client.js';
import { connectDevice, newDevice, request } from '../support/raw-device.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { spawnRelay, stopRelays } from '../support/relay-child.js';
import { TEST_DISCOVERY_SECRET } from '../support/relay-fixture.js';

/*
 * Wake-ups when a relay node dies: a device connected to a relay process that is SIGKILLed never
 * says goodbye, so its online mark stays until it expires (PASSBY_PUSH_ONLINE_SECONDS, 3 s here
 * instead of 45 s so the test waits seconds, not a minute). Until then the other node counts the
 * device online and sends nothing; once the mark has expired, the next filing wakes it, once.
 */

const ONLINE_SECONDS = 3;
const webpush = new WebPushService();
let redis: RedisServer;
let survivor: Relay;

beforeAll(async () => {
  await webpush.start();
  redis = await startRedis();
}, 30_000);
afterEach(() => stopRelays());
afterAll(async () => {
  await survivor?.close();
  await webpush.stop();
  await redis.stop();
});

const push = () => ({
  vapidPublicKey: webpush.vapid.publicKey,
  vapidPrivateKey: webpush.vapid.privateKey,
  vapidSubject: webpush.subject,
  pushInsecureEndpoints: 1,
  pushOnlineSeconds: ONLINE_SECONDS,
});

describe('a relay node SIGKILLed under a connected device', () => {
  it('leaves the device online until its mark expires, then the survivor wakes it once', async () => {
    const doomed = await spawnRelay({
      PASSBY_REDIS_URL: redis.url,
      PASSBY_VAPID_PUBLIC_KEY: webpush.vapid.publicKey,
      PASSBY_VAPID_PRIVATE_KEY: webpush.vapid.privateKey,
      PASSBY_VAPID_SUBJECT: webpush.subject,
      PASSBY_PUSH_INSECURE_ENDPOINTS: '1',
      PASSBY_PUSH_ONLINE_SECONDS: String(ONLINE_SECONDS),
    });
    survivor = await startRelay({
      config: { redisUrl: redis.url, discoverySecret: TEST_DISCOVERY_SECRET, ...push() },
    });
    const sub = webpush.subscribe('killed');
    const identity = await newIdentity();
    const bob = await connectDevice(doomed.url, await newDevice(), identity);
    const registration = { kind: 'webpush', endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth };
    expect((await request(bob.client, { t: 'push', op: 'register', ...registration })).t).toBe('ok');

    const alice = await RawClient.login(survivor.url, await newIdentity());
    let n = 0;
    const file = async () => {
      await alice.sendAndWait({ t: 'send', to: identity.id, mid: `m-${n++}`, body: randomBytes(16) });
      await survivor.wakeupsIdle();
    };
    await file();
    expect(webpush.for(sub.path)).toEqual([]);

    doomed.process.kill('SIGKILL');
    await doomed.exited;
    const killedAt = performance.now();
    const admin = redis.client();
    try {
      // The dead node said nothing: bob's mark is still there, until `until` (Redis's clock).
      const mark = await admin.hget(`pb:{${identity.id}}:on`, '0');
      expect(mark).not.toBeNull();
      const until = Number(mark!.split(':')[0]);
      await file();
      const [seconds, micros] = await admin.time();
      if (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) < until)
        expect(webpush.for(sub.path)).toEqual([]);
      // Filings go on; the first after the mark expired wakes bob, and only that one.
      await waitFor(
        'the survivor wakes bob',
        async () => {
          await file();
          return webpush.for(sub.path).length > 0;
        },
        { timeoutMs: ONLINE_SECONDS * 1000 + 5_000, intervalMs: 200 },
      );
      expect(performance.now() - killedAt).toBeLessThan(ONLINE_SECONDS * 1000 + 3_000);
      for (let i = 0; i < 5; i++) await file();
      expect(webpush.for(sub.path)).toHaveLength(1);
      expect(webpush.problems).toEqual([]);
    } finally {
      admin.disconnect();
      await alice.close();
    }
  }, 30_000);
});
