import type { KeysReplyFrame, KeysRequestFrame } from '../protocol/index.js';
import { fromBase64url, LIMITS, PassbyError } from '../protocol/index.js';
import { ClientError } from './errors.js';
import { userIdOf } from './identity.js';
import { sodium } from './sodium.js';
import type { Storage } from './storage.js';

interface Waiter {
  promise: Promise<Uint8Array>;
  resolve: (boxKey: Uint8Array) => void;
  reject: (err: Error) => void;
}

/**
 * Public keys of other users, fetched from the relay and trusted only after checking that each one
 * hashes to the ID it was asked for, so the relay cannot substitute its own key. Verified keys are
 * kept in memory and in storage (they never change for an ID). Resolves to the X25519 box key.
 */
export class KeyDirectory {
  readonly #cache = new Map<string, Uint8Array>();
  readonly #waiting = new Map<string, Waiter>();
  readonly #unsent = new Set<string>();
  readonly #requests = new Map<number, string[]>();

  constructor(
    private readonly storage: Storage,
    /** Sends a request; false when no connection is open (it is retried on the next open). */
    private readonly send: (frame: KeysRequestFrame) => boolean,
    /** Told when caching a verified key in storage fails (it costs a request after a restart). */
    private readonly problem: (error: ClientError) => void = () => undefined,
    /** Request IDs; the client shares one sequence with its other requests. */
    private readonly nextRid: () => number = counter(),
  ) {}

  /** The key if it is already verified (in memory or storage), without asking the relay. */
  async known(id: string): Promise<Uint8Array | undefined> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const saved = await this.storage.get(`key/${id}`);
    if (saved === undefined) return undefined;
    const boxKey = this.#verify(id, saved);
    return boxKey instanceof ClientError ? undefined : boxKey;
  }

  /** The key, asking the relay when needed (the request waits for an open connection). */
  async get(id: string): Promise<Uint8Array> {
    const waiting = this.#waiting.get(id);
    if (waiting) return waiting.promise;
    const known = await this.known(id);
    if (known) return known;
    const again = this.#waiting.get(id);
    if (again) return again.promise;
    let resolve!: Waiter['resolve'];
    let reject!: Waiter['reject'];
    const promise = new Promise<Uint8Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#waiting.set(id, { promise, resolve, reject });
    this.#unsent.add(id);
    queueMicrotask(() => this.flush());
    return promise;
  }

  /** Sends every request not sent yet, in batches the protocol allows. Call on open. */
  flush(): void {
    while (this.#unsent.size > 0) {
      const ids = [...this.#unsent].slice(0, LIMITS.maxKeysPerRequest);
      const rid = this.nextRid();
      if (!this.send({ t: 'keys', rid, ids })) return;
      this.#requests.set(rid, ids);
      for (const id of ids) this.#unsent.delete(id);
    }
  }

  /** The connection dropped: requests without an answer go again on the next open. */
  disconnected(): void {
    for (const ids of this.#requests.values()) for (const id of ids) this.#unsent.add(id);
    this.#requests.clear();
  }

  onReply(frame: KeysReplyFrame): void {
    const ids = this.#requests.get(frame.rid);
    if (!ids) return;
    this.#requests.delete(frame.rid);
    for (const id of ids) {
      const pk = Object.hasOwn(frame.keys, id) ? frame.keys[id] : undefined;
      if (pk === undefined || pk === null)
        // The relay's own code for the same cause, as friends.request gets it: one code per cause.
        this.#settle(
          id,
          new PassbyError('unknown_recipient', `no user ${id} has ever connected to this relay`),
        );
      else {
        const boxKey = this.#verify(id, pk);
        if (!(boxKey instanceof ClientError)) {
          this.storage.set(`key/${id}`, pk).catch((err: unknown) => {
            this.problem(new ClientError('storage', 'caching a verified key failed', { cause: err }));
          });
        }
        this.#settle(id, boxKey);
      }
    }
  }

  /** The relay answered a request with an error (its `ref` is the request ID). */
  onError(rid: number, error: PassbyError): boolean {
    const ids = this.#requests.get(rid);
    if (!ids) return false;
    this.#requests.delete(rid);
    for (const id of ids) {
      if (error.retry) this.#unsent.add(id);
      else this.#settle(id, error);
    }
    return true;
  }

  close(): void {
    for (const id of [...this.#waiting.keys()]) this.#settle(id, new ClientError('closed'));
    this.#unsent.clear();
    this.#requests.clear();
  }

  #verify(id: string, pk: string): Uint8Array | ClientError {
    const bytes = fromBase64url(pk);
    if (bytes === null || bytes.length !== 32 || userIdOf(bytes) !== id) {
      return new ClientError('bad_key', `the key offered for ${id} hashes to another ID`);
    }
    try {
      const boxKey = sodium.crypto_sign_ed25519_pk_to_curve25519(bytes);
      this.#cache.set(id, boxKey);
      return boxKey;
    } catch (err) {
      return new ClientError('bad_key', `the key for ${id} is not a valid Ed25519 point`, { cause: err });
    }
  }

  #settle(id: string, result: Uint8Array | Error): void {
    const w = this.#waiting.get(id);
    if (!w) return;
    this.#waiting.delete(id);
    this.#unsent.delete(id);
    if (result instanceof Uint8Array) w.resolve(result);
    else w.reject(result);
  }
}

/** Request IDs 0, 1, 2 ... wrapping within the protocol's range (0 to 2^31). */
export function counter(): () => number {
  let next = 0;
  return () => {
    const rid = next;
    next = (next + 1) % 2 ** 31;
    return rid;
  };
}
