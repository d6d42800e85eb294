import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createClient,
  createIdentity,
  type IncomingMessage,
  type PassbyClient,
  webPushRegistration,
} from '../../client-sdk/index.js';
import { waitFor } from '../support/poll.js';
import { WebPushService } from '../support/push-services.js';
import { useRelay } from '../support/relay-fixture.js';
import { sameDevice } from '../support/same-device.js';

/*
 * The SDK's side of wake-up pushes (client-sdk/README.md "Woken by a push"): a device registers
 * its Web Push subscription through the SDK, goes away, is woken once by the relay through a
 * real HTTP push endpoint on 127.0.0.1 (which checks VAPID and decrypts the body), and the woken
 * app connects, drains and closes with every message once.
 */

const webpush = new WebPushService();
beforeAll(() => webpush.start());
afterAll(() => webpush.stop());

describe('a device woken by a push', () => {
  const fixture = useRelay({
    vapidPublicKey: webpush.vapid.publicKey,
    vapidPrivateKey: webpush.vapid.privateKey,
    vapidSubject: webpush.subject,
    pushInsecureEndpoints: 1,
  });

  it('registers through the SDK, is woken once for a burst, and drains every message once', async () => {
    const [bobId, aliceId] = await Promise.all([createIdentity(), createIdentity()]);
    const connect = async (identity: typeof bobId, autoConnect = true): Promise<PassbyClient> =>
      createClient({
        url: fixture.relay.url,
        identity,
        storage: sameDevice(identity),
        WebSocket,
        autoConnect,
      });
    const bob = await connect(bobId);
    await bob.ready({ timeoutMs: 10_000 });
    // What a browser's PushManager.subscribe() gives, through toJSON(): standard base64 keys.
    const sub = webpush.subscribe('bob');
    const json = {
      endpoint: sub.endpoint,
      keys: {
        p256dh: Buffer.from(sub.p256dh, 'base64url').toString('base64'),
        auth: Buffer.from(sub.auth, 'base64url').toString('base64'),
      },
    };
    await bob.push.register(webPushRegistration(json));
    expect((await bob.exportAccount()).pushRegistrations).toEqual([
      { device: bob.deviceId, kind: 'webpush' },
    ]);
    await bob.close();

    const alice = await connect(aliceId);
    await alice.ready({ timeoutMs: 10_000 });
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) => alice.send(bobId.id, `while away ${i}`)),
    );
    await waitFor('the wake-up', () => webpush.for(sub.path).length > 0, { timeoutMs: 10_000 });
    expect(webpush.problems).toEqual([]);

    // The woken app: handlers first, then connect, drain, close.
    const woken = await connect(bobId, false);
    const got: IncomingMessage[] = [];
    woken.on('message', (m) => {
      got.push(m);
    });
    await woken.drain({ timeoutMs: 10_000 });
    expect(woken.state.kind).toBe('closed');
    expect(got.map((m) => m.mid).sort()).toEqual(sent.map((s) => s.mid).sort());
    // One wake-up for the whole burst, carrying nothing but the constant.
    expect(webpush.for(sub.path).map((r) => r.payload)).toEqual(['1']);
    for (const text of [aliceId.id, bobId.id, 'while away'])
      expect(webpush.for(sub.path)[0]!.raw).not.toContain(text);

    // Drained means acknowledged: the next connection gets nothing again.
    const again = await connect(bobId, false);
    const late: IncomingMessage[] = [];
    again.on('message', (m) => {
      late.push(m);
    });
    await again.drain({ timeoutMs: 10_000 });
    expect(late).toEqual([]);
    // A client that has drained already (it stayed open) closes at once.
    const open = await connect(bobId, false);
    const drained = open.once('drained', { timeoutMs: 10_000 });
    open.connect();
    await drained;
    await open.drain({ timeoutMs: 1_000 });
    expect(open.state.kind).toBe('closed');
    await alice.close();
  });
});
