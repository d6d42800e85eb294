import { readFileSync } from 'node:fs';
import type { PushKind } from '../../protocol/index.js';
import type { RelayConfig } from '../config/index.js';
import type { Logger } from '../telemetry/index.js';
import { apnsSender } from './senders/apns.js';
import { fcmSender, readServiceAccount } from './senders/fcm.js';
import type { Sender } from './senders/outcome.js';
import { checkVapid, webPushSender } from './senders/webpush.js';

/**
 * The senders the configuration has credentials for, reading the key files once at start-up. A
 * kind without credentials is off (its registrations are refused with push_unavailable); a kind
 * whose credentials cannot be read stops the start, with one error naming every problem.
 */
export function pushSenders(c: Readonly<RelayConfig>, log: Logger): Map<PushKind, Sender> {
  const senders = new Map<PushKind, Sender>();
  const problems: string[] = [];
  const off: Record<string, string> = {};
  const read = (name: string, file: string): string | null => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`${name}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return null;
    }
  };

  if (c.vapidPublicKey !== null && c.vapidPrivateKey !== null && c.vapidSubject !== null) {
    const vapid = { publicKey: c.vapidPublicKey, privateKey: c.vapidPrivateKey, subject: c.vapidSubject };
    const bad = checkVapid(vapid);
    if (bad === null) senders.set('webpush', webPushSender(vapid, c.pushTimeoutMs));
    else problems.push(`PASSBY_VAPID_*: ${bad}`);
  } else off.webpush = 'no PASSBY_VAPID_PUBLIC_KEY, PASSBY_VAPID_PRIVATE_KEY and PASSBY_VAPID_SUBJECT';

  if (c.fcmServiceAccountFile !== null) {
    const text = read('PASSBY_FCM_SERVICE_ACCOUNT_FILE', c.fcmServiceAccountFile);
    const account = text === null ? null : readServiceAccount(text);
    if (typeof account === 'string') problems.push(`PASSBY_FCM_SERVICE_ACCOUNT_FILE ${account}`);
    else if (account !== null) senders.set('fcm', fcmSender(account, c.fcmEndpoint, c.pushTimeoutMs));
  } else off.fcm = 'no PASSBY_FCM_SERVICE_ACCOUNT_FILE';

  if (c.apnsKeyFile !== null && c.apnsKeyId !== null && c.apnsTeamId !== null && c.apnsTopic !== null) {
    const key = read('PASSBY_APNS_KEY_FILE', c.apnsKeyFile);
    const ca = c.apnsCaFile === null ? null : read('PASSBY_APNS_CA_FILE', c.apnsCaFile);
    if (key !== null && (c.apnsCaFile === null || ca !== null))
      senders.set(
        'apns',
        apnsSender({
          key,
          keyId: c.apnsKeyId,
          teamId: c.apnsTeamId,
          topic: c.apnsTopic,
          host: c.apnsHost,
          pushType: c.apnsPushType === 'alert' ? 'alert' : 'background',
          ca,
          timeoutMs: c.pushTimeoutMs,
        }),
      );
  } else off.apns = 'no PASSBY_APNS_KEY_FILE, PASSBY_APNS_KEY_ID, PASSBY_APNS_TEAM_ID and PASSBY_APNS_TOPIC';

  if (problems.length > 0) {
    for (const s of senders.values()) s.close();
    throw new Error(`wake-up push credentials:\n  - ${problems.join('\n  - ')}`);
  }
  if (Object.keys(off).length > 0)
    log.warn({ on: [...senders.keys()], off }, 'wake-up pushes are off for the kinds without credentials');
  else log.info({ on: [...senders.keys()] }, 'wake-up pushes on');
  return senders;
}
