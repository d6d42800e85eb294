import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../relay/index.js';
import { pushSenders } from '../../../relay/push/index.js';
import { createLogger } from '../../../relay/telemetry/index.js';
import { LogSink } from '../../support/log-sink.js';

/*
 * Wake-up push configuration: credentials come in sets, a kind without them is off and said so at
 * start-up, and credentials that cannot be read stop the start.
 */

const problems = (partial: Parameters<typeof resolveConfig>[0]) => {
  try {
    resolveConfig(partial);
    return [];
  } catch (err) {
    return (err as { problems: string[] }).problems;
  }
};

describe('wake-up push configuration', () => {
  it('wants each kind complete or absent', () => {
    expect(problems({ vapidPublicKey: 'x' })).toEqual([
      'Web Push wake-ups need all of PASSBY_VAPID_PUBLIC_KEY, PASSBY_VAPID_PRIVATE_KEY, PASSBY_VAPID_SUBJECT',
    ]);
    expect(problems({ apnsKeyFile: '/k.p8', apnsTopic: 'app' })).toHaveLength(1);
    expect(problems({ vapidSubject: 'ops@example.com', vapidPublicKey: 'a', vapidPrivateKey: 'b' })).toEqual([
      'PASSBY_VAPID_SUBJECT must be a mailto: or https:// URL',
    ]);
    expect(problems({ apnsPushType: 'voip' })).toEqual(['PASSBY_APNS_PUSH_TYPE must be background or alert']);
    expect(problems({ fcmEndpoint: 'fcm.googleapis.com' })).toHaveLength(1);
    expect(problems({ pushCoalesceSeconds: 0 })).toHaveLength(1);
  });

  it('says at start-up which kinds are off, and refuses credentials it cannot read', () => {
    const sink = new LogSink();
    const senders = pushSenders(resolveConfig({}), createLogger('info', sink.stream));
    expect([...senders.keys()]).toEqual([]);
    return sink
      .next((r) => String(r.msg).startsWith('wake-up pushes are off'))
      .then((record) => {
        expect(Object.keys(record.off as object).sort()).toEqual(['apns', 'fcm', 'webpush']);
        expect(() =>
          pushSenders(
            resolveConfig({
              fcmServiceAccountFile: '/nonexistent/sa.json',
              vapidPublicKey: 'AAAA',
              vapidPrivateKey: 'AAAA',
              vapidSubject: 'mailto:a@b.c',
            }),
            createLogger('silent'),
          ),
        ).toThrow(/PASSBY_VAPID_\*: [\s\S]*PASSBY_FCM_SERVICE_ACCOUNT_FILE: cannot read the file \(ENOENT\)/);
      });
  });
});
