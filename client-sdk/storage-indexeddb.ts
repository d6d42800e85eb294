import { ClientError } from './errors.js';
import type { Storage } from './storage.js';

/** The part of the browser's `indexedDB` the storage uses (typed loosely: no DOM types needed). */
export interface IndexedDbFactoryLike {
  open(name: string, version?: number): unknown;
}

export interface IndexedDbStorageOptions {
  /** The database's name. Default 'passby'; one per identity if an app has several. */
  name?: string;
  /** Default: globalThis.indexedDB (browsers, web workers). */
  indexedDB?: IndexedDbFactoryLike;
}

/** A Storage in IndexedDB that can be closed (the database stays on disk). */
export interface IndexedDbStorage extends Storage {
  close(): void;
}

const STORE = 'kv';

/**
 * A Storage for browsers: one IndexedDB object store of strings. Unlike localStorage it holds
 * far more than 5 MB (the browser's per-site quota, a share of the disk) and does not block the
 * page. Every write is its own transaction with `durability: 'strict'`, resolved only once it
 * is committed (`complete`), as the SDK requires; a failure (QuotaExceededError ...) rejects with
 * ClientError('storage') naming it.
 */
export async function createIndexedDbStorage(
  options: IndexedDbStorageOptions = {},
): Promise<IndexedDbStorage> {
  const factory = (options.indexedDB ?? (globalThis as { indexedDB?: unknown }).indexedDB) as
    | IDBFactory
    | undefined;
  if (typeof factory?.open !== 'function') throw new TypeError('no IndexedDB here: pass options.indexedDB');
  const name = options.name ?? 'passby';
  const open = factory.open(name, 1);
  open.onupgradeneeded = () => {
    if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE);
  };
  const db = await settle(open, `opening the IndexedDB database "${name}"`);
  return new IdbStorage(db);
}

class IdbStorage implements IndexedDbStorage {
  constructor(private readonly db: IDBDatabase) {}

  async get(key: string): Promise<string | undefined> {
    const value = await settle(this.#store('readonly').get(key), `reading "${key}"`);
    return typeof value === 'string' ? value : undefined;
  }

  set(key: string, value: string): Promise<void> {
    return this.#write(`writing "${key}"`, (store) => store.put(value, key));
  }

  delete(key: string): Promise<void> {
    return this.#write(`deleting "${key}"`, (store) => store.delete(key));
  }

  async keys(prefix: string): Promise<string[]> {
    // Keys are ASCII: every key with the prefix sorts between it and the prefix + U+FFFF.
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    const keys = await settle(this.#store('readonly').getAllKeys(range), `listing "${prefix}*"`);
    return keys.filter((k): k is string => typeof k === 'string' && k.startsWith(prefix));
  }

  close(): void {
    this.db.close();
  }

  #store(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  /** A write, resolved when its transaction has committed (durably), rejected when it failed. */
  #write(what: string, op: (store: IDBObjectStore) => IDBRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      let tx: IDBTransaction;
      try {
        tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
        op(tx.objectStore(STORE));
      } catch (err) {
        reject(failure(what, err));
        return;
      }
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(failure(what, tx.error));
      tx.onabort = () => reject(failure(what, tx.error));
    });
  }
}

function settle<T>(request: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(failure(what, request.error));
  });
}

function failure(what: string, err: unknown): ClientError {
  return new ClientError('storage', `IndexedDB: ${what} failed`, { cause: err });
}
