import { describe, expect, it } from 'vitest';
import { PUSH_LIMITS, toBase64url, validatePushFrame } from '../../protocol/index.js';

const p256dh = toBase64url(new Uint8Array(65).fill(7).map((v, i) => (i === 0 ? 4 : v)));
const auth = toBase64url(new Uint8Array(16).fill(9));
const webpush = {
  t: 'push',
  rid: 3,
  op: 'register',
  kind: 'webpush',
  endpoint: 'https://push.example/send/abc',
  p256dh,
  auth,
};

const refusal = (h: Record<string, unknown>) => {
  const r = validatePushFrame(h);
  return r && !r.ok ? { code: r.code, ref: r.ref } : r;
};

describe('push frame', () => {
  it('takes a Web Push subscription, an FCM token, an APNs token and a removal', () => {
    expect(validatePushFrame(webpush)).toEqual({ ok: true, frame: webpush });
    const fcm = { t: 'push', rid: 1, op: 'register', kind: 'fcm', token: 'dQw4w9WgXcQ:APA91b-x_y' };
    expect(validatePushFrame(fcm)).toEqual({ ok: true, frame: fcm });
    const apns = { t: 'push', rid: 1, op: 'register', kind: 'apns', token: 'ab'.repeat(32) };
    expect(validatePushFrame(apns)).toEqual({ ok: true, frame: apns });
    expect(validatePushFrame({ t: 'push', rid: 2, op: 'remove' })).toEqual({
      ok: true,
      frame: { t: 'push', rid: 2, op: 'remove' },
    });
  });

  it('refuses, with the rid, every field out of its form', () => {
    const bad = { code: 'invalid_field', ref: '3' };
    expect(refusal({ ...webpush, endpoint: 'ftp://push.example/x' })).toEqual(bad);
    expect(refusal({ ...webpush, endpoint: 'https://user@push.example/x' })).toEqual(bad);
    expect(
      refusal({ ...webpush, endpoint: `https://push.example/${'a'.repeat(PUSH_LIMITS.maxEndpointChars)}` }),
    ).toEqual(bad);
    expect(refusal({ ...webpush, endpoint: 'https://push.example/a b' })).toEqual(bad);
    expect(refusal({ ...webpush, p256dh: auth })).toEqual(bad);
    // A compressed point (0x02 first) is not what PushSubscription gives.
    expect(refusal({ ...webpush, p256dh: toBase64url(new Uint8Array(65).fill(2)) })).toEqual(bad);
    expect(refusal({ ...webpush, auth: `${auth.slice(0, 21)}B` })).toEqual(bad); // not canonical
    expect(refusal({ ...webpush, token: 'x' })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'register', kind: 'fcm', token: '' })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'register', kind: 'fcm', token: 'a b' })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'register', kind: 'apns', token: 'ab'.repeat(31) })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'register', kind: 'apns', token: 'zz'.repeat(32) })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'register', kind: 'gcm', token: 'x' })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'remove', kind: 'fcm' })).toEqual(bad);
    expect(refusal({ t: 'push', rid: 3, op: 'replace' })).toEqual(bad);
    expect(refusal({ t: 'push', rid: -1, op: 'remove' })).toEqual({ code: 'invalid_field', ref: undefined });
  });
});
