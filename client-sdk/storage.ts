import { createIdentity, type Identity, importIdentity } from './identity.js';

/**
 * Where the SDK keeps what must outlive a restart: the outbox, the IDs of messages already handed
 * to the app, and verified public keys. The app supplies it (the platform's key-value store, a
 * database, a file: see storage-file.ts); MemoryStorage is the default and forgets on restart.
 *
 * Keys are short ASCII strings ([A-Za-z0-9_:/-]); values are strings. Writes must be durable when
 * the promise resolves: the SDK acknowledges a message only after remembering it here.
 *
 * A Storage that can keep bytes as they are may also have setBytes and getBytes: the SDK then keeps
 * the chunks of incoming files (64 KiB each) that way rather than as base64url text. A key is
 * written one way only; `delete` and `keys` cover both.
 */
export interface Storage {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, in any order. */
  keys(prefix: string): Promise<string[]>;
  /** Optional: keeps `value` under `key` (the SDK does not change the bytes afterwards). */
  setBytes?(key: string, value: Uint8Array): Promise<void>;
  /** Optional, with setBytes: what setBytes kept under `key`. */
  getBytes?(key: string): Promise<Uint8Array | undefined>;
}

/** A Storage in memory: the default, and enough for tests and short-lived tools. */
export class MemoryStorage implements Storage {
  readonly #map = new Map<string, string | Uint8Array>();

  async get(key: string): Promise<string | undefined> {
    const value = this.#map.get(key);
    return typeof value === 'string' ? value : undefined;
  }

  async set(key: string, value: string): Promise<void> {
    this.#map.set(key, value);
  }

  /** Keeps the bytes themselves, not a copy: a 50 MiB file's chunks cost no encoding. */
  async setBytes(key: string, value: Uint8Array): Promise<void> {
    this.#map.set(key, value);
  }

  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const value = this.#map.get(key);
    return value instanceof Uint8Array ? value : undefined;
  }

  async delete(key: string): Promise<void> {
    this.#map.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.#map.keys()].filter((k) => k.startsWith(prefix));
  }
}

/** Where loadOrCreateIdentity (and a paired device) keeps the identity in a Storage. */
export const IDENTITY_KEY = 'identity';

/**
 * The identity kept in `storage`, or a new one that is saved there first. Apps with a secure
 * enclave or keychain may rather keep `identity.export()` there and call importIdentity().
 */
export async function loadOrCreateIdentity(storage: Storage): Promise<Identity> {
  const saved = await storage.get(IDENTITY_KEY);
  if (saved !== undefined) return importIdentity(saved);
  const identity = await createIdentity();
  await storage.set(IDENTITY_KEY, identity.export());
  return identity;
}

/**
 * Deletes every key in `storage`: what the SDK kept (identity, device key, outbox, seen entries,
 * kept file chunks, verified keys, the friend list). eraseAccount() calls it; after an `ended`
 * event with `device_revoked` or `erased` an app may call it too.
 */
export async function wipeStorage(storage: Storage): Promise<void> {
  for (const key of await storage.keys('')) await storage.delete(key);
}
