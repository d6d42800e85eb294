import {
  DEVICE_ID_PATTERN,
  deviceIdInput,
  fromBase64url,
  toBase64url,
  USER_ID_HASH_BYTES,
} from '../protocol/index.js';
import { ClientError } from './errors.js';
import { Identity } from './identity.js';
import { sodium } from './sodium.js';
import type { Storage } from './storage.js';

/*
 * Protocol version 4: this device's own Ed25519 key (PROTOCOL.md, "Devices"; CRYPTO.md, "Devices").
 * It authenticates the device to the relay; the identity key certifies it; at pairing the approving
 * device seals the identity's seed to it (crypto_box_seal to its X25519 conversion).
 */

/** Where the device key's seed lives in the SDK's Storage. */
export const DEVICE_STORAGE_KEY = 'device';
const DEVICE_PREFIX = 'passby-device-v1:';
/** The text a new device shows (QR code or copy/paste): PAIRING_PREFIX + its device key. */
export const PAIRING_PREFIX = 'passby-pair:1:';
const SEED_BYTES = 32;
/** crypto_box_seal of the 32-byte seed: the seed, an ephemeral key (32) and a tag (16). */
const BOX_BYTES = SEED_BYTES + 48;

/** One device's key pair. Built by loadOrCreateDeviceKey, after libsodium is ready. */
export class DeviceKey {
  /** The device ID: base64url(BLAKE2b-128("passby-device-v1" || publicKey)). */
  readonly id: string;
  /** The Ed25519 public key, base64url (the `dk` of frames). */
  readonly publicKeyText: string;
  readonly #secretKey: Uint8Array;
  readonly #seed: Uint8Array;

  constructor(seed: Uint8Array) {
    const pair = sodium.crypto_sign_seed_keypair(seed);
    this.#seed = seed;
    this.#secretKey = pair.privateKey;
    this.publicKeyText = toBase64url(pair.publicKey);
    this.id = deviceIdOf(pair.publicKey);
  }

  /** The text another device of the identity approves: `passby-pair:1:<dk>`. */
  get pairingPayload(): string {
    return PAIRING_PREFIX + this.publicKeyText;
  }

  sign(message: Uint8Array): Uint8Array {
    return sodium.crypto_sign_detached(message, this.#secretKey);
  }

  /**
   * Opens a pairing box (base64url) and returns the identity it holds. Throws
   * ClientError('pairing_failed') when the box is not the seed sealed to this device's key.
   */
  openBox(box: string): Identity {
    const bytes = fromBase64url(box);
    if (bytes === null || bytes.length !== BOX_BYTES)
      throw new ClientError('pairing_failed', 'the pairing box is not a sealed identity seed');
    const pk = sodium.crypto_sign_ed25519_pk_to_curve25519(fromBase64url(this.publicKeyText)!);
    const sk = sodium.crypto_sign_ed25519_sk_to_curve25519(this.#secretKey);
    let seed: Uint8Array;
    try {
      seed = sodium.crypto_box_seal_open(bytes, pk, sk);
    } catch (err) {
      throw new ClientError('pairing_failed', 'the pairing box does not open with this device key', {
        cause: err,
      });
    } finally {
      sodium.memzero(sk);
    }
    const identity = Identity.fromSeed(seed);
    sodium.memzero(seed);
    return identity;
  }

  /** The stored form: the seed as text. */
  export(): string {
    return DEVICE_PREFIX + toBase64url(this.#seed);
  }
}

/** The device ID of an Ed25519 device public key. libsodium must be ready. */
export function deviceIdOf(publicKey: Uint8Array): string {
  return toBase64url(sodium.crypto_generichash(USER_ID_HASH_BYTES, deviceIdInput(publicKey), null));
}

/**
 * The device key kept in `storage`, or a new one that is stored (durably) before it is returned:
 * a device key that authenticated once must never be lost, or the relay knows the device no more.
 */
export async function loadOrCreateDeviceKey(storage: Storage): Promise<DeviceKey> {
  const saved = await storage.get(DEVICE_STORAGE_KEY);
  if (saved !== undefined) {
    const seed = saved.startsWith(DEVICE_PREFIX) ? fromBase64url(saved.slice(DEVICE_PREFIX.length)) : null;
    if (seed === null || seed.length !== SEED_BYTES)
      throw new ClientError('storage', `the stored device key under "${DEVICE_STORAGE_KEY}" is damaged`);
    return new DeviceKey(seed);
  }
  const key = new DeviceKey(sodium.randombytes_buf(SEED_BYTES));
  await storage.set(DEVICE_STORAGE_KEY, key.export());
  return key;
}

/** A new device's key, read from its pairing payload and checked. */
export interface PairingRequest {
  /** The device public key, base64url (canonical, 32 bytes, a valid Ed25519 point). */
  dk: string;
  /** Its device ID. */
  id: string;
  /** Its X25519 conversion, to seal the identity to. */
  boxKey: Uint8Array;
}

/** Parses `passby-pair:1:<dk>`; throws TypeError on anything else. libsodium must be ready. */
export function parsePairingPayload(payload: unknown): PairingRequest {
  const text = typeof payload === 'string' ? payload.trim() : '';
  const dk = text.startsWith(PAIRING_PREFIX) ? text.slice(PAIRING_PREFIX.length) : '';
  const bytes = dk.length === 43 ? fromBase64url(dk) : null;
  if (bytes === null || bytes.length !== 32)
    throw new TypeError('not a passby pairing payload (expected "passby-pair:1:" and a 32-byte key)');
  let boxKey: Uint8Array;
  try {
    boxKey = sodium.crypto_sign_ed25519_pk_to_curve25519(bytes);
  } catch {
    throw new TypeError('the pairing payload does not hold a valid Ed25519 key');
  }
  const id = deviceIdOf(bytes);
  if (!DEVICE_ID_PATTERN.test(id)) throw new TypeError('the pairing payload does not give a device ID');
  return { dk, id, boxKey };
}

/** The pairing box: the identity's seed sealed to the new device (crypto_box_seal), base64url. */
export function sealIdentity(identity: Identity, boxKey: Uint8Array): string {
  const seed = identity.seed();
  const box = sodium.crypto_box_seal(seed, boxKey);
  sodium.memzero(seed);
  return toBase64url(box);
}
