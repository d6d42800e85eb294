import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayConfig } from '../../../relay/index.js';
import { createLogger, startRelay } from '../../../relay/index.js';
import { LogSink } from '../../support/log-sink.js';
import { waitFor } from '../../support/poll.js';
import { ApnsService, FcmService, type Subscription, WebPushService } from '../../support/push-services.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import {
  approve,
  connectDevice,
  type DeviceSession,
  newDevice,
  request,
  signedRequest,
} from '../../support/raw-device.js';
import { redisBackends, type StartBackend, standaloneRedis } from '../../support/redis-backends.js';
import { dumpRedis, TEST_DISCOVERY_SECRET, useRelay } from '../../support/relay-fixture.js';

/*
 * Wake-up pushes end to end (PROTOCOL.md "Wake-up pushes"): a real relay on a real Redis (one
 * server, and a Cluster where the wake decision's atomicity matters), and push services played by
 * HTTP servers on 127.0.0.1 that check what the real ones check (test/support/push-services.ts).
 * Where a test asserts that no push went, it waits for the relay's waker to be idle
 * (Relay.wakeupsIdle) after the last filing, so "none" is "none after everything was decided".
 */

const webpush = new WebPushService();
const fcm = new FcmService();
const apns = new ApnsService();

/** The push settings of every relay in this file, filled once the services listen. */
function pushConfig(): Partial<RelayConfig> {
  return {
    vapidPublicKey: webpush.vapid.publicKey,
    vapidPrivateKey: webpush.vapid.privateKey,
    vapidSubject: webpush.subject,
    pushInsecureEndpoints: 1,
    fcmServiceAccountFile: fcm.file,
    fcmEndpoint: fcm.origin,
    apnsKeyFile: apns.keyFile,
    apnsKeyId: apns.keyId,
    apnsTeamId: apns.teamId,
    apnsTopic: apns.topic,
    apnsHost: apns.origin,
    apnsCaFile: apns.caFile,
    pushTimeoutMs: 3_000,
  };
}

beforeAll(async () => {
  await Promise.all([webpush.start(), fcm.start(), apns.start()]);
});
afterAll(async () => {
  await Promise.all([webpush.stop(), fcm.stop(), apns.stop()]);
});

const logs = new LogSink();
let names = 0;

type Registration = Record<string, string>;

function webRegistration(sub: Subscription): Registration {
  return { kind: 'webpush', endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth };
}

/** A new user with one v4 device that registered `registration`, connected. */
async function pushUser(url: string, registration: Registration) {
  const identity = await newIdentity();
  const device = await newDevice();
  const session = await connectDevice(url, device, identity);
  const answer = await request(session.client, { t: 'push', op: 'register', ...registration });
  expect(answer.t).toBe('ok');
  return { identity, device, session, uid: identity.id };
}

function fixtureHelpers(fixture: ReturnType<typeof useRelay>) {
  const onKey = (uid: string) => `pb:{${uid}}:on`;
  return {
    /** Closes the device's connection and waits until no relay node counts it online. */
    async away(uid: string, session: DeviceSession): Promise<void> {
      await session.client.close();
      const admin = fixture.backend.adminFor(onKey(uid));
      await waitFor('the device is offline', async () => (await admin.hlen(onKey(uid))) === 0, {
        timeoutMs: 5_000,
      });
    },
    async sender(): Promise<RawClient> {
      return RawClient.login(fixture.relay.url, await newIdentity());
    },
    registrations(uid: string) {
      const key = `pb:{${uid}}:push`;
      return fixture.backend.adminFor(key).hgetall(key);
    },
  };
}

async function burst(sender: RawClient, to: string, n: number, tag: string): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      sender.sendAndWait({ t: 'send', to, mid: `${tag}-${i}`, body: randomBytes(64) }),
    ),
  );
}

describe.each(redisBackends())('wake-ups on %s', (_, backend: StartBackend) => {
  const config: Partial<RelayConfig> = {};
  beforeAll(() => void Object.assign(config, pushConfig()));
  const fixture = useRelay(config, { backend }, createLogger('info', logs.stream));
  const h = fixtureHelpers(fixture);

  it('wakes an offline device once for a burst of 50 messages, and again after it connected and went away', async () => {
    const sub = webpush.subscribe(`burst-${names++}`);
    const bob = await pushUser(fixture.relay.url, webRegistration(sub));
    await h.away(bob.uid, bob.session);
    const aliceId = await newIdentity();
    const alice = await RawClient.login(fixture.relay.url, aliceId);

    // Half at once (one event-loop turn's batch), half one by one (a wake decision each, which
    // Redis coalesces).
    await burst(alice, bob.uid, 25, 'first');
    for (let i = 0; i < 25; i++) await burst(alice, bob.uid, 1, `first-one-${i}`);
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(sub.path).map((r) => r.payload)).toEqual(['1']);
    // The push carries nothing: not the user, the sender, a message ID or a count (DESIGN P9).
    for (const text of [bob.uid, aliceId.id, bob.device.id, 'first-'])
      expect(webpush.for(sub.path)[0]!.raw).not.toContain(text);

    const again = await connectDevice(fixture.relay.url, bob.device);
    await again.client.next('drained');
    await h.away(bob.uid, again);
    await burst(alice, bob.uid, 3, 'second');
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(sub.path)).toHaveLength(2);
    expect(webpush.problems).toEqual([]);
    await alice.close();
  });
});

describe('wake-ups on one Redis', () => {
  const config: Partial<RelayConfig> = {};
  beforeAll(() => void Object.assign(config, pushConfig()));
  const fixture = useRelay(config, { backend: standaloneRedis }, createLogger('info', logs.stream));
  const h = fixtureHelpers(fixture);

  it('sends none to a device connected to this relay', async () => {
    const sub = webpush.subscribe(`online-${names++}`);
    const bob = await pushUser(fixture.relay.url, webRegistration(sub));
    const alice = await h.sender();
    await burst(alice, bob.uid, 50, 'online');
    for (let i = 0; i < 50; i++) await bob.session.client.next('msg');
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(sub.path)).toEqual([]);
    await Promise.all([alice.close(), bob.session.client.close()]);
  });

  it('sends none to a device connected to another relay node on the same Redis', async () => {
    const other = await startRelay({
      config: { ...fixture.backend.config, discoverySecret: TEST_DISCOVERY_SECRET, ...pushConfig() },
    });
    try {
      const sub = webpush.subscribe(`elsewhere-${names++}`);
      const bob = await pushUser(other.url, webRegistration(sub));
      const alice = await h.sender();
      await burst(alice, bob.uid, 10, 'elsewhere');
      for (let i = 0; i < 10; i++) await bob.session.client.next('msg');
      await Promise.all([fixture.relay.wakeupsIdle(), other.wakeupsIdle()]);
      expect(webpush.for(sub.path)).toEqual([]);
      // The decision was Redis's (this node has no connection of bob): it saw bob online there.
      const wk = `pb:{${bob.uid}}:wk`;
      expect(await fixture.backend.adminFor(wk).exists(wk)).toBe(0);
      // Once bob leaves that node, this one wakes it.
      await h.away(bob.uid, bob.session);
      await burst(alice, bob.uid, 1, 'left');
      await fixture.relay.wakeupsIdle();
      expect(webpush.for(sub.path)).toHaveLength(1);
      await alice.close();
    } finally {
      await other.close();
    }
  });

  it('sends one wake-up between two relay nodes filing for the same device at once', async () => {
    const other = await startRelay({
      config: { ...fixture.backend.config, discoverySecret: TEST_DISCOVERY_SECRET, ...pushConfig() },
    });
    try {
      const sub = webpush.subscribe(`race-${names++}`);
      const bob = await pushUser(fixture.relay.url, webRegistration(sub));
      await h.away(bob.uid, bob.session);
      const here = await h.sender();
      const there = await RawClient.login(other.url, await newIdentity());
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => [
          burst(here, bob.uid, 1, `here-${i}`),
          burst(there, bob.uid, 1, `there-${i}`),
        ]).flat(),
      );
      await Promise.all([fixture.relay.wakeupsIdle(), other.wakeupsIdle()]);
      expect(webpush.for(sub.path)).toHaveLength(1);
      await Promise.all([here.close(), there.close()]);
    } finally {
      await other.close();
    }
  });

  it('drops a registration the push service says is gone (410)', async () => {
    const sub = webpush.subscribe(`gone-${names++}`);
    webpush.answer(sub.path, { status: 410 });
    const bob = await pushUser(fixture.relay.url, webRegistration(sub));
    await h.away(bob.uid, bob.session);
    const alice = await h.sender();
    await burst(alice, bob.uid, 1, 'gone');
    await waitFor(
      'the registration is dropped',
      async () => Object.keys(await h.registrations(bob.uid)).length === 0,
      {
        timeoutMs: 5_000,
      },
    );
    expect(webpush.for(sub.path)).toHaveLength(1);
    await alice.close();
  });

  it('tries again after a 429 no sooner than its Retry-After', async () => {
    const sub = webpush.subscribe(`busy-${names++}`);
    webpush.answer(sub.path, { status: 429, headers: { 'retry-after': '1' } });
    const bob = await pushUser(fixture.relay.url, webRegistration(sub));
    await h.away(bob.uid, bob.session);
    const alice = await h.sender();
    await burst(alice, bob.uid, 1, 'busy');
    const [first, second] = await waitFor(
      'a second try',
      () => webpush.for(sub.path).length >= 2 && webpush.for(sub.path),
      {
        timeoutMs: 10_000,
      },
    );
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_000);
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(sub.path)).toHaveLength(2);
    expect(Object.keys(await h.registrations(bob.uid))).toEqual(['0']);
    await alice.close();
  });

  it('wakes through FCM: the token exchange, the bearer token and a data message with one fixed key', async () => {
    const token = `fcm-${names++}-${randomBytes(8).toString('hex')}`;
    const bob = await pushUser(fixture.relay.url, { kind: 'fcm', token });
    await h.away(bob.uid, bob.session);
    const alice = await h.sender();
    await burst(alice, bob.uid, 5, 'fcm');
    await fixture.relay.wakeupsIdle();
    expect(fcm.for(token).map((r) => r.payload)).toEqual(['{"w":"1"}']);
    expect(fcm.problems).toEqual([]);
    expect(fcm.for(token)[0]!.raw).not.toContain(bob.uid);
    await alice.close();
  });

  it('wakes through APNs: HTTP/2, the ES256 provider token and a background push', async () => {
    const token = randomBytes(32).toString('hex');
    const bob = await pushUser(fixture.relay.url, { kind: 'apns', token });
    await h.away(bob.uid, bob.session);
    const alice = await h.sender();
    await burst(alice, bob.uid, 5, 'apns');
    await fixture.relay.wakeupsIdle();
    expect(apns.for(token).map((r) => JSON.parse(r.payload))).toEqual([{ aps: { 'content-available': 1 } }]);
    expect(apns.problems).toEqual([]);
    await alice.close();
  });

  it('wakes a sender for the receipt it asked for, and a recipient for an offer', async () => {
    const subA = webpush.subscribe(`receipt-${names++}`);
    const alice = await pushUser(fixture.relay.url, webRegistration(subA));
    const bobId = await newIdentity();
    const bob = await RawClient.login(fixture.relay.url, bobId);
    await alice.session.client.sendAndWait({
      t: 'send',
      to: bobId.id,
      mid: 'wants-receipt',
      body: randomBytes(16),
      receipt: true,
    });
    const msg = await bob.next('msg');
    await h.away(alice.uid, alice.session);
    bob.send({ t: 'ack', id: msg.id });
    await waitFor('the receipt woke alice', () => webpush.for(subA.path).length === 1, { timeoutMs: 5_000 });

    const subC = webpush.subscribe(`offer-${names++}`);
    const carol = await pushUser(fixture.relay.url, webRegistration(subC));
    await h.away(carol.uid, carol.session);
    // A share's part alone wakes nobody (it is held, not delivered); its offer does.
    await bob.sendAndWait({
      t: 'send',
      to: carol.uid,
      mid: 'part-1',
      offer: 'share-1',
      body: randomBytes(16),
    });
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(subC.path)).toEqual([]);
    bob.send({ t: 'share', to: carol.uid, mid: 'share-1', parts: 1, body: randomBytes(16) });
    await bob.next('stored', (f) => f.mid === 'share-1');
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(subC.path)).toHaveLength(1);
    await bob.close();
  });

  it('answers push with unknown_type before protocol version 4', async () => {
    const client = await RawClient.connect(fixture.relay.url);
    await client.authenticate(await newIdentity(), 'passby', Date.now(), [3]);
    client.send({ t: 'push', rid: 7, op: 'remove' });
    expect(await client.next('error')).toMatchObject({ code: 'unknown_type', ref: '7' });
    await client.close();
  });

  it('wakes both friends for a nearby notice', async () => {
    const [a, b] = [webpush.subscribe(`near-a-${names++}`), webpush.subscribe(`near-b-${names++}`)];
    const ua = await pushUser(fixture.relay.url, webRegistration(a));
    const ub = await pushUser(fixture.relay.url, webRegistration(b));
    // Friends, proximity on both ways.
    expect((await request(ua.session.client, { t: 'friend', op: 'request', id: ub.uid })).t).toBe('ok');
    expect((await request(ub.session.client, { t: 'friend', op: 'accept', id: ua.uid })).t).toBe('ok');
    for (const [me, them] of [
      [ua, ub],
      [ub, ua],
    ] as const)
      expect(
        (await request(me.session.client, { t: 'consent', id: them.uid, proximity: true, autoAccept: false }))
          .t,
      ).toBe('ok');
    // a posts its presence and leaves; b posts the same cell while a is away: both are told.
    expect((await request(ua.session.client, { t: 'presence', cell: '8a1fb46622dffff' })).t).toBe('ok');
    await h.away(ua.uid, ua.session);
    // b has the notices of a's friendship; b is connected, so only a should be woken by them...
    expect((await request(ub.session.client, { t: 'presence', cell: '8a1fb46622dffff' })).t).toBe('ok');
    await ub.session.client.next('notice', (n) => n.kind === 'nearby');
    await fixture.relay.wakeupsIdle();
    expect(webpush.for(a.path)).toHaveLength(1);
    // ...and b, connected here, none.
    expect(webpush.for(b.path)).toEqual([]);
    await ub.session.client.close();
  });

  it('wakes the away device of a user whose other device is connected here, not that one', async () => {
    const identity = await newIdentity();
    const [first, second] = await Promise.all([newDevice(), newDevice()]);
    const one = await connectDevice(fixture.relay.url, first, identity);
    expect((await approve(one, identity, second)).t).toBe('ok');
    const two = await connectDevice(fixture.relay.url, second);
    const [subOne, subTwo] = [webpush.subscribe(`here-${names++}`), webpush.subscribe(`away-${names++}`)];
    expect((await request(one.client, { t: 'push', op: 'register', ...webRegistration(subOne) })).t).toBe(
      'ok',
    );
    expect((await request(two.client, { t: 'push', op: 'register', ...webRegistration(subTwo) })).t).toBe(
      'ok',
    );
    await two.client.close();
    const mark = `pb:{${identity.id}}:on`;
    await waitFor(
      'only the first device is online',
      async () => (await fixture.backend.adminFor(mark).hlen(mark)) === 1,
      {
        timeoutMs: 5_000,
      },
    );
    const alice = await h.sender();
    await burst(alice, identity.id, 3, 'two-devices');
    await one.client.next('msg');
    await fixture.relay.wakeupsIdle();
    expect([webpush.for(subOne.path).length, webpush.for(subTwo.path).length]).toEqual([0, 1]);
    await Promise.all([alice.close(), one.client.close()]);
  });

  it('removes the registration of a revoked device, and lists only its kind in the export', async () => {
    const identity = await newIdentity();
    const [first, second] = await Promise.all([newDevice(), newDevice()]);
    const one = await connectDevice(fixture.relay.url, first, identity);
    expect((await approve(one, identity, second)).t).toBe('ok');
    const two = await connectDevice(fixture.relay.url, second);
    const sub = webpush.subscribe(`revoked-${names++}`);
    expect((await request(two.client, { t: 'push', op: 'register', ...webRegistration(sub) })).t).toBe('ok');

    const exported = await signedRequest(one, identity, 'export');
    const data = JSON.parse(Buffer.from((exported as unknown as { body: Uint8Array }).body).toString()) as {
      pushRegistrations: unknown;
    };
    expect(data.pushRegistrations).toEqual([{ device: second.id, kind: 'webpush' }]);
    expect(Buffer.from((exported as unknown as { body: Uint8Array }).body).toString()).not.toContain(
      sub.endpoint,
    );

    expect((await request(one.client, { t: 'device', op: 'revoke', id: second.id })).t).toBe('ok');
    expect(await h.registrations(identity.id)).toEqual({});
    await one.client.close();
  });

  it('removes every push key of an erased account', async () => {
    const sub = webpush.subscribe(`erased-${names++}`);
    const bob = await pushUser(fixture.relay.url, webRegistration(sub));
    expect(Object.keys(await h.registrations(bob.uid))).toEqual(['0']);
    expect((await signedRequest(bob.session, bob.identity, 'erase')).t).toBe('ok');
    await waitFor(
      'nothing names the erased user',
      async () =>
        [...(await dumpRedis(fixture.backend))].every(
          ([k, v]) => !k.includes(bob.uid) && !v.includes(bob.uid),
        ),
      { timeoutMs: 10_000 },
    );
  });

  it('refuses a kind it has no credentials for, and http: endpoints unless told otherwise', async () => {
    const bare = await startRelay({});
    try {
      const identity = await newIdentity();
      const s = await connectDevice(bare.url, await newDevice(), identity);
      for (const registration of [
        { kind: 'fcm', token: 'some-token' },
        { kind: 'apns', token: 'ab'.repeat(32) },
        webRegistration(webpush.subscribe(`bare-${names++}`)),
      ])
        expect(await request(s.client, { t: 'push', op: 'register', ...registration })).toMatchObject({
          t: 'error',
          code: 'push_unavailable',
          retry: false,
        });
      expect((await request(s.client, { t: 'push', op: 'remove' })).t).toBe('ok');
      await s.client.close();
    } finally {
      await bare.close();
    }
    const strict = await startRelay({ config: { ...pushConfig(), pushInsecureEndpoints: 0 } });
    try {
      const s = await connectDevice(strict.url, await newDevice(), await newIdentity());
      const http = webRegistration(webpush.subscribe(`strict-${names++}`));
      expect(await request(s.client, { t: 'push', op: 'register', ...http })).toMatchObject({
        code: 'push_unavailable',
      });
      await s.client.close();
    } finally {
      await strict.close();
    }
  });
  // Last of its block: the hanging requests keep the waker busy until they time out.
  it('delivers to other users at once while a push service hangs', async () => {
    const sub = webpush.subscribe(`hang-${names++}`);
    webpush.answer(sub.path, 'hang', 'hang', 'hang', 'hang');
    const carol = await pushUser(fixture.relay.url, webRegistration(sub));
    await h.away(carol.uid, carol.session);
    const alice = await h.sender();
    await burst(alice, carol.uid, 1, 'hang');
    await waitFor('the push service holds a request', () => webpush.for(sub.path).length === 1, {
      timeoutMs: 5_000,
    });

    const dave = await newIdentity();
    const daveClient = await RawClient.login(fixture.relay.url, dave);
    const started = performance.now();
    await alice.sendAndWait({ t: 'send', to: dave.id, mid: 'meanwhile', body: randomBytes(32) });
    await daveClient.next('msg');
    expect(performance.now() - started).toBeLessThan(1_000);
    // The hanging request is still unanswered: delivery did not wait for it.
    expect(webpush.for(sub.path)).toHaveLength(1);
    await Promise.all([alice.close(), daveClient.close()]);
  });
});

describe('the logs', () => {
  it('never carry an endpoint, a key of a subscription or a token', () => {
    const text = JSON.stringify(logs.records);
    expect(logs.records.length).toBeGreaterThan(10);
    const secrets = [
      ...webpush.received.map((r) => r.to),
      ...fcm.received.map((r) => r.to),
      ...apns.received.map((r) => r.to),
      webpush.vapid.privateKey,
      ...fcm.issued,
    ];
    expect(secrets.length).toBeGreaterThan(5);
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
  });
});
