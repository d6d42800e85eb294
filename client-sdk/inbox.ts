import type { Storage } from './storage.js';

const PREFIX = 'seen/';
const RECENT = 4096;

/**
 * The entry IDs (`m:<sender>:<mid>`, `r:<recipient>:<mid>`) already handed to the app, so that a
 * redelivery (the relay delivers at least once) is acknowledged and dropped instead of shown again.
 * Each is kept in storage until the relay's own expiry for it has passed: after that the relay can
 * no longer deliver it, so it can be forgotten.
 */
export class SeenSet {
  readonly #recent = new Set<string>();

  constructor(
    private readonly storage: Storage,
    private readonly now: () => number,
  ) {}

  async has(entryId: string): Promise<boolean> {
    if (this.#recent.has(entryId)) return true;
    return (await this.storage.get(PREFIX + entryId)) !== undefined;
  }

  /** Remembers an entry until `expires` (ms since the epoch). Durable when it resolves. */
  async remember(entryId: string, expires: number): Promise<void> {
    await this.storage.set(PREFIX + entryId, String(expires));
    this.#recent.add(entryId);
    if (this.#recent.size > RECENT) {
      const oldest = this.#recent.values().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
  }

  /** Forgets entries the relay can no longer deliver. Returns how many were forgotten. */
  async prune(): Promise<number> {
    const now = this.now();
    let pruned = 0;
    for (const key of await this.storage.keys(PREFIX)) {
      const value = await this.storage.get(key);
      if (value !== undefined && Number(value) < now) {
        await this.storage.delete(key);
        this.#recent.delete(key.slice(PREFIX.length));
        pruned++;
      }
    }
    return pruned;
  }
}
