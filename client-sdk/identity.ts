import {
  fromBase64url,
  toBase64url,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
  userIdInput,
} from '../protocol/index.js';
import { concat, ready, sodium, utf8 } from './sodium.js';

const EXPORT_PREFIX = 'passby-identity-v1:';
const SEED_BYTES = 32;
/** BLAKE2b-256 keyed with the X25519 secret over this gives the ephemeral-deriving key. */
export const EPHEMERAL_KEY_DOMAIN = 'passby-e2e-ephemeral-v1';

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
  /** The key that derives this identity's envelope ephemerals (CRYPTO.md, "Sealing"). */
  readonly #ephemeralKey: Uint8Array;
  /** X25519 public key, 32 bytes, derived from publicKey. */
  readonly boxPublicKey: Uint8Array;

  private constructor(seed: Uint8Array) {
    const pair = sodium.crypto_sign_seed_keypair(seed);
    this.publicKey = pair.publicKey;
    this.#signSecretKey = pair.privateKey;
    this.#boxSecretKey = sodium.crypto_sign_ed25519_sk_to_curve25519(pair.privateKey);
    this.boxPublicKey = sodium.crypto_sign_ed25519_pk_to_curve25519(pair.publicKey);
    this.#ephemeralKey = sodium.crypto_generichash(32, utf8(EPHEMERAL_KEY_DOMAIN), this.#boxSecretKey);
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

  /**
   * @internal The X25519 ephemeral secret of an envelope this identity seals, from the envelope's
   * nonce and addressing: any device holding the identity can derive it again and so open what
   * another of its devices sent (CRYPTO.md, "Devices"). The caller erases it after use.
   */
  ephemeralSecret(nonce: Uint8Array, addressing: string): Uint8Array {
    return sodium.crypto_generichash(32, concat(nonce, utf8(addressing)), this.#ephemeralKey);
  }

  /** @internal The 32-byte Ed25519 seed, sealed to a new device at pairing (CRYPTO.md, "Devices"). */
  seed(): Uint8Array {
    return this.#signSecretKey.slice(0, SEED_BYTES);
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
