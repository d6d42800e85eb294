import { randomBytes } from 'node:crypto';
import sodium from 'libsodium-wrappers';
import {
  type AuthFrame,
  authMessage,
  type ErrorCode,
  fromBase64url,
  NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  splitFrame,
  toBase64url,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
  userIdInput,
} from '../../protocol/index.js';

/** Resolves once libsodium's WebAssembly is ready; call before serving. */
export async function initCrypto(): Promise<void> {
  await sodium.ready;
}

/** A fresh single-use challenge nonce, 32 random bytes in base64url. */
export function newNonce(): string {
  return toBase64url(randomBytes(NONCE_BYTES));
}

export function userIdOf(publicKey: Uint8Array): string {
  return userIdFromDigest(sodium.crypto_generichash(USER_ID_HASH_BYTES, userIdInput(publicKey), null));
}

export type AuthOutcome = { ok: true; uid: string } | { ok: false; code: ErrorCode; reason: string };

/**
 * Checks an auth answer against the nonce this connection was given. The signature covers the
 * relay identity, the nonce, the timestamp and the public key, so an answer cannot be replayed on
 * another connection (new nonce), against another relay (other identity) or later (timestamp).
 */
export function verifyAuth(
  frame: AuthFrame,
  relayId: string,
  nonce: string,
  now: number,
  skewMs: number,
): AuthOutcome {
  const pk = fromBase64url(frame.pk);
  const sig = fromBase64url(frame.sig);
  if (pk === null || pk.length !== PUBLIC_KEY_BYTES || sig === null || sig.length !== SIGNATURE_BYTES) {
    return { ok: false, code: 'auth_failed', reason: 'bad key or signature encoding' };
  }
  if (Math.abs(now - frame.ts) > skewMs)
    return { ok: false, code: 'auth_expired', reason: 'timestamp out of window' };
  let valid = false;
  try {
    valid = sodium.crypto_sign_verify_detached(sig, authMessage(relayId, nonce, frame.ts, frame.pk), pk);
  } catch {
    valid = false; // libsodium throws on keys it refuses outright (e.g. small order points)
  }
  if (!valid) return { ok: false, code: 'auth_failed', reason: 'signature does not verify' };
  return { ok: true, uid: userIdOf(pk) };
}

/**
 * Whether a frame that failed validation was meant as an `auth` answer. In the auth phase such a
 * frame is a failed answer like a bad signature (PROTOCOL.md, "Connect and authenticate"): it
 * spends the nonce and closes with auth_failed, rather than leaving the nonce open to a second try.
 */
export function isAuthAnswer(data: Uint8Array): boolean {
  const split = splitFrame(data);
  return !('ok' in split) && split.header.t === 'auth';
}
