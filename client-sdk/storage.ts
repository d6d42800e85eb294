import { createIdentity, type Identity, importIdentity } from './identity.js';

/**
 * Where the SDK keeps what must outlive a restart: the outbox, the IDs of messages already handed
 * to the app, and verified public keys. The app supplies it (the platform's key-value store, a
 * database, a file: see storage-file.ts); MemoryStorage is the default and forgets on restart.
 *
 * Keys are short ASCII strings ([A-Za-z0-9_:/-]); values are strings. Writes must be durable when
 * the promise resolves: the SDK acknowledges a message only after remembering it here.
 */
export interface Storage {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, in any order. */
  keys(prefix: string): Promise<string[]>;
}

/** A Storage in memory: the default, and enough for tests and short-lived tools. */
export class MemoryStorage implements Storage {
  readonly #map = new Map<string, string>();

  async get(key: string): Promise<string | undefined> {
    return this.#map.get(key);
  }

  async set(key: string, value: string): Promise<void> {
    this.#map.set(key, value);
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
