import { fromBase64url } from './base64url.js';
import { type Decoded, fail, isSafeInt, onlyFields } from './fields.js';

/*
 * Version 4: wake-up pushes (PROTOCOL.md "Wake-up pushes"). A device registers one push
 * registration (a Web Push subscription, an FCM token or an APNs device token); when something is
 * filed for it while it has no connection to any relay node, the relay sends one push that carries
 * nothing (no content, sender, count or user ID) and the app connects, drains and closes.
 */

/** The push services a registration may name. */
export const PUSH_KINDS = ['webpush', 'fcm', 'apns'] as const;
export type PushKind = (typeof PUSH_KINDS)[number];

export const PUSH_LIMITS = {
  /** A Web Push endpoint URL, in characters. */
  maxEndpointChars: 1024,
  /** An FCM registration token, in characters (they are about 160 today). */
  maxFcmTokenChars: 4096,
  /** An APNs device token: hex, 32 bytes today; Apple says the length may grow (up to 100 bytes). */
  minApnsTokenChars: 64,
  maxApnsTokenChars: 200,
  /** The subscription's P-256 public key (uncompressed point) and auth secret, in bytes. */
  p256dhBytes: 65,
  authBytes: 16,
} as const;

export type PushRegistration =
  | { kind: 'webpush'; endpoint: string; p256dh: string; auth: string }
  | { kind: 'fcm'; token: string }
  | { kind: 'apns'; token: string };

export type PushFrame =
  | ({ t: 'push'; rid: number; op: 'register' } & PushRegistration)
  | { t: 'push'; rid: number; op: 'remove' };

/** http or https, a host, no whitespace or control characters. */
const ENDPOINT = /^https?:\/\/[^\s/?#@]+(?:[/?#][^\s]*)?$/;
/** Printable ASCII without space. */
const FCM_TOKEN = /^[\x21-\x7e]+$/;
const APNS_TOKEN = /^(?:[0-9a-fA-F]{2})+$/;

/** Canonical base64url of exactly `bytes` bytes. */
function isKeyOf(value: unknown, bytes: number): value is string {
  if (typeof value !== 'string' || value.length !== Math.ceil((bytes * 4) / 3)) return false;
  const decoded = fromBase64url(value);
  return decoded !== null && decoded.length === bytes;
}

/** Checks one registration's fields; a message naming the bad field, or the registration. */
export function checkRegistration(h: Record<string, unknown>): PushRegistration | string {
  switch (h.kind) {
    case 'webpush': {
      const extra = onlyFields(h, ['t', 'rid', 'op', 'kind', 'endpoint', 'p256dh', 'auth']);
      if (extra) return `push has an unknown field "${extra.slice(0, 32)}"`;
      if (
        typeof h.endpoint !== 'string' ||
        h.endpoint.length > PUSH_LIMITS.maxEndpointChars ||
        !ENDPOINT.test(h.endpoint)
      )
        return `push.endpoint must be an http(s) URL of at most ${PUSH_LIMITS.maxEndpointChars} characters`;
      if (!isKeyOf(h.p256dh, PUSH_LIMITS.p256dhBytes) || fromBase64url(h.p256dh)![0] !== 4)
        return 'push.p256dh must be an uncompressed P-256 point (65 bytes) in base64url';
      if (!isKeyOf(h.auth, PUSH_LIMITS.authBytes)) return 'push.auth must be 16 bytes in base64url';
      return { kind: 'webpush', endpoint: h.endpoint, p256dh: h.p256dh, auth: h.auth };
    }
    case 'fcm':
    case 'apns': {
      const extra = onlyFields(h, ['t', 'rid', 'op', 'kind', 'token']);
      if (extra) return `push has an unknown field "${extra.slice(0, 32)}"`;
      const t = h.token;
      if (h.kind === 'fcm') {
        if (typeof t !== 'string' || t.length > PUSH_LIMITS.maxFcmTokenChars || !FCM_TOKEN.test(t))
          return `push.token must be 1-${PUSH_LIMITS.maxFcmTokenChars} printable characters`;
        return { kind: 'fcm', token: t };
      }
      if (
        typeof t !== 'string' ||
        t.length < PUSH_LIMITS.minApnsTokenChars ||
        t.length > PUSH_LIMITS.maxApnsTokenChars ||
        !APNS_TOKEN.test(t)
      )
        return `push.token must be ${PUSH_LIMITS.minApnsTokenChars}-${PUSH_LIMITS.maxApnsTokenChars} hex digits`;
      return { kind: 'apns', token: t };
    }
    default:
      return 'push.kind must be "webpush", "fcm" or "apns"';
  }
}

/** The version 4 `push` frame, or undefined when `t` is another. */
export function validatePushFrame(h: Record<string, unknown>): Decoded<PushFrame> | undefined {
  if (h.t !== 'push') return undefined;
  const ref = isSafeInt(h.rid, 0, 2 ** 31) ? String(h.rid) : undefined;
  if (ref === undefined) return fail('invalid_field', 'push.rid must be an integer from 0 to 2^31');
  const rid = Number(ref);
  if (h.op === 'remove') {
    const extra = onlyFields(h, ['t', 'rid', 'op']);
    if (extra) return fail('invalid_field', `push has an unknown field "${extra.slice(0, 32)}"`, ref);
    return { ok: true, frame: { t: 'push', rid, op: 'remove' } };
  }
  if (h.op !== 'register') return fail('invalid_field', 'push.op must be "register" or "remove"', ref);
  const checked = checkRegistration(h);
  if (typeof checked === 'string') return fail('invalid_field', checked, ref);
  return { ok: true, frame: { t: 'push', rid, op: 'register', ...checked } };
}
