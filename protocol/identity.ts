import { toBase64url } from './base64url.js';

/*
 * Identity and authentication constants shared by relay and clients. The hashing and signing
 * themselves are done by each side with libsodium; protocol/ stays free of dependencies.
 */

/** A user ID is BLAKE2b with this many output bytes over USER_ID_DOMAIN || public key. */
export const USER_ID_HASH_BYTES = 16;
export const USER_ID_DOMAIN = 'passby-id-v1';
export const AUTH_DOMAIN = 'passby-auth-v1';
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const NONCE_BYTES = 32;

const encoder = new TextEncoder();

/** A domain's UTF-8 bytes followed by a key: what a user ID or a device ID hashes. */
export function domainInput(domain: string, key: Uint8Array): Uint8Array {
  const bytes = encoder.encode(domain);
  const out = new Uint8Array(bytes.length + key.length);
  out.set(bytes);
  out.set(key, bytes.length);
  return out;
}

/** The bytes to hash into a user ID. */
export function userIdInput(publicKey: Uint8Array): Uint8Array {
  return domainInput(USER_ID_DOMAIN, publicKey);
}

/** The user ID as text, from the BLAKE2b digest of userIdInput(). */
export function userIdFromDigest(digest: Uint8Array): string {
  if (digest.length !== USER_ID_HASH_BYTES) throw new RangeError('user ID digest must be 16 bytes');
  return toBase64url(digest);
}

/**
 * The exact bytes a client signs to authenticate: the domain, the relay's identity, the relay's
 * nonce for this connection, the client's timestamp and the client's public key, one per line.
 */
export function authMessage(relay: string, nonce: string, ts: number, publicKey: string): Uint8Array {
  return encoder.encode(`${AUTH_DOMAIN}\n${relay}\n${nonce}\n${ts}\n${publicKey}`);
}
