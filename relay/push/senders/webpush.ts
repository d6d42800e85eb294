import webpush from 'web-push';
import type { PushRegistration } from '../../../protocol/index.js';
import { type Outcome, outcomeOf, outcomeOfError, type Sender } from './outcome.js';

/*
 * Web Push (RFC 8030) with VAPID (RFC 8292) and the aes128gcm content encoding (RFC 8291), through
 * the web-push library, which builds the request (the encrypted body and its headers); the relay
 * sends it itself with fetch, so it owns the deadline and one code path serves every endpoint.
 * UnifiedPush distributors on Android take the same requests.
 */

/** The payload: a constant, so a wake-up says nothing (DESIGN P9). */
const PAYLOAD = '1';
/** How long the push service keeps a wake-up for a device that is away: a day. */
const TTL_SECONDS = 86_400;

export interface Vapid {
  publicKey: string;
  privateKey: string;
  subject: string;
}

export function webPushSender(vapid: Vapid, timeoutMs: number): Sender {
  return {
    kind: 'webpush',
    async send(r: PushRegistration): Promise<Outcome> {
      if (r.kind !== 'webpush') throw new TypeError('not a Web Push registration');
      const details = webpush.generateRequestDetails(
        { endpoint: r.endpoint, keys: { p256dh: r.p256dh, auth: r.auth } },
        PAYLOAD,
        {
          vapidDetails: vapid,
          TTL: TTL_SECONDS,
          urgency: 'high',
          contentEncoding: 'aes128gcm',
        },
      );
      try {
        const res = await fetch(details.endpoint, {
          method: details.method,
          headers: details.headers as Record<string, string>,
          body: new Uint8Array(details.body as Buffer),
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'error',
        });
        await res.body?.cancel();
        return outcomeOf(res.status, res.headers.get('retry-after'));
      } catch (err) {
        return outcomeOfError(err);
      }
    },
    close() {},
  };
}

/** Whether a VAPID key pair is well formed (web-push checks lengths and encoding). */
export function checkVapid(vapid: Vapid): string | null {
  try {
    webpush.setVapidDetails(vapid.subject, vapid.publicKey, vapid.privateKey);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : 'bad VAPID details';
  }
}
