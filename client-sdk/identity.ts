import {
  fromBase64url,
  toBase64url,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
  userIdInput,
} from '../protocol/index.js';
import { ready, sodium } from './sodium.js';

const EXPORT_PREFIX = 'passby-identity-v1:';
const SEED_BYTES = 32;

/**
 * A user's identity: an Ed25519 key pair (it signs the relay's challenge) and the X25519 key pair
 * derived from it (it opens and authenticates end-to-end messages). The user ID is a hash of the
 * public key, so anyone can check that a key belongs to an ID.
 */
export class Identity {
  /** The user ID: base64url(BLAKE2b-128("passby-id-v1" || publicKey)). */
  readonly id: string;
  /** Ed25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  readonly #signSecretKey: Uint8Array;
  readonly #boxSecretKey: Uint8Array;
  /** X25519 public key, 32 bytes, derived from publicKey. */
  readonly boxPublicKey: Uint8Array;

  private constructor(seed: Uint8Array) {
    const pair = sodium.crypto_sign_seed_keypair(seed);
    this.publicKey = pair.publicKey;
    this.#signSecretKey = pair.privateKey;
    this.#boxSecretKey = sodium.crypto_sign_ed25519_sk_to_curve25519(pair.privateKey);
    this.boxPublicKey = sodium.crypto_sign_ed25519_pk_to_curve25519(pair.publicKey);
    this.id = userIdOf(pair.publicKey);
  }

  /** @internal Built only by createIdentity and importIdentity, after libsodium is ready. */
  static fromSeed(seed: Uint8Array): Identity {
    return new Identity(seed);
  }

  /** Signs bytes with the Ed25519 secret key (detached signature, 64 bytes). */
  sign(message: Uint8Array): Uint8Array {
    return sodium.crypto_sign_detached(message, this.#signSecretKey);
  }

  /** X25519 shared secret between this identity's static key and `publicKey`. */
  agree(boxPublicKey: Uint8Array): Uint8Array {
    return sodium.crypto_scalarmult(this.#boxSecretKey, boxPublicKey);
  }

  /** The 32-byte seed as text, to keep in the platform's secure storage. Treat it as a password. */
  export(): string {
    return EXPORT_PREFIX + toBase64url(this.#signSecretKey.subarray(0, SEED_BYTES));
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }
}

/** A new identity from 32 random bytes. */
export async function createIdentity(): Promise<Identity> {
  const s = await ready();
  return Identity.fromSeed(s.randombytes_buf(SEED_BYTES));
}

/** Restores an identity from the text `identity.export()` gave. Throws TypeError on anything else. */
export async function importIdentity(text: string): Promise<Identity> {
  await ready();
  const seed =
    typeof text === 'string' && text.startsWith(EXPORT_PREFIX)
      ? fromBase64url(text.slice(EXPORT_PREFIX.length))
      : null;
  if (seed === null || seed.length !== SEED_BYTES) {
    throw new TypeError('not an exported passby identity (expected "passby-identity-v1:" and 32 bytes)');
  }
  return Identity.fromSeed(seed);
}

/** The user ID of an Ed25519 public key. libsodium must be ready. */
export function userIdOf(publicKey: Uint8Array): string {
  return userIdFromDigest(sodium.crypto_generichash(USER_ID_HASH_BYTES, userIdInput(publicKey), null));
}
