import {
  type AuthFrame,
  type DeviceAuthFrame,
  deviceAuthMessage,
  deviceCertMessage,
  type ErrorCode,
  fromBase64url,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
} from '../../protocol/index.js';
import { type Devices, deviceIdOf, verify } from '../account/index.js';
import type { Identities } from '../mailbox/index.js';
import { userIdOf, verifyAuth } from './auth.js';

/** Who a connection is once authenticated: the identity, the device's slot, what it needs at once. */
export interface Identity {
  uid: string;
  slot: number;
  /** The device ID (version 4), or undefined for a version 1-3 client (the identity key itself). */
  device: string | undefined;
  liveDevices: number;
  /** The sealed identity secret of a device whose pairing is not finished. */
  box: string | null;
}

export type AuthFailure = { ok: false; code: ErrorCode; reason: string };
export type Authenticated = { ok: true; identity: Identity } | AuthFailure;

export interface AuthContext {
  relayId: string;
  nonce: string;
  now: number;
  skewMs: number;
  identities: Identities;
  devices: Devices;
}

/**
 * Checks an answer to the challenge (PROTOCOL.md "Connect and authenticate", and "Version 4:
 * Devices") synchronously, so a failed answer closes the connection before any frame after it is
 * read; a valid one gives the store work that completes it. A version 1-3 answer signs with the
 * identity key; it is refused for an identity that has devices (`device_required`), whose devices
 * must each use their own key. A version 4 answer signs with a device key; with the identity key
 * and a certificate it registers the identity's first device.
 */
export function checkAnswer(
  frame: AuthFrame | DeviceAuthFrame,
  ctx: AuthContext,
): AuthFailure | (() => Promise<Authenticated>) {
  if (!('dk' in frame)) {
    const outcome = verifyAuth(frame, ctx.relayId, ctx.nonce, ctx.now, ctx.skewMs);
    if (!outcome.ok) return outcome;
    return () => identityAuth(outcome.uid, frame.pk, ctx);
  }
  const dk = fromBase64url(frame.dk);
  const sig = fromBase64url(frame.sig);
  if (dk === null || dk.length !== PUBLIC_KEY_BYTES || sig === null || sig.length !== SIGNATURE_BYTES)
    return { ok: false, code: 'auth_failed', reason: 'bad device key or signature encoding' };
  if (Math.abs(ctx.now - frame.ts) > ctx.skewMs)
    return { ok: false, code: 'auth_expired', reason: 'timestamp out of window' };
  if (!verify(sig, deviceAuthMessage(ctx.relayId, ctx.nonce, frame.ts, frame.dk), dk))
    return { ok: false, code: 'auth_failed', reason: 'device signature does not verify' };
  const did = deviceIdOf(dk);
  if (frame.pk === undefined || frame.cert === undefined) return () => deviceAuth(did, undefined, ctx);
  const pk = fromBase64url(frame.pk);
  const cert = fromBase64url(frame.cert);
  if (pk === null || pk.length !== PUBLIC_KEY_BYTES || cert === null || cert.length !== SIGNATURE_BYTES)
    return { ok: false, code: 'auth_failed', reason: 'bad identity key or certificate encoding' };
  const uid = userIdOf(pk);
  if (!verify(cert, deviceCertMessage(uid, frame.dk), pk))
    return { ok: false, code: 'auth_failed', reason: 'device certificate does not verify' };
  return () => deviceAuth(did, { uid, pk: frame.pk! }, ctx);
}

async function identityAuth(uid: string, pk: string, ctx: AuthContext): Promise<Authenticated> {
  const has = await ctx.devices.hasDevices(uid);
  if (has === 'erased') return { ok: false, code: 'erased', reason: 'the account is being erased' };
  if (has) return { ok: false, code: 'device_required', reason: 'the identity has devices' };
  await ctx.identities.register(uid, pk);
  await ctx.devices.touch(uid, ctx.now);
  return { ok: true, identity: { uid, slot: 0, device: undefined, liveDevices: 1, box: null } };
}

async function deviceAuth(
  did: string,
  first: { uid: string; pk: string } | undefined,
  ctx: AuthContext,
): Promise<Authenticated> {
  if (first !== undefined) {
    const registered = await ctx.devices.registerFirst(first.uid, first.pk, did, ctx.now);
    if (registered === 'erased') return { ok: false, code: 'erased', reason: 'the account is being erased' };
  }
  const auth = await ctx.devices.authDevice(did, ctx.now);
  if (auth.status !== 'ok') return { ok: false, code: auth.status, reason: `device: ${auth.status}` };
  return {
    ok: true,
    identity: { uid: auth.uid, slot: auth.slot, device: did, liveDevices: auth.liveDevices, box: auth.box },
  };
}
