import { type FriendInfo, USER_ID_PATTERN } from '../protocol/index.js';
import type { FriendEvent } from './events.js';
import type { Requests } from './requests.js';
import type { Storage } from './storage.js';

/** The friend list as the SDK last read it (IDs and states), to tell what a `friends` notice changed. */
const KNOWN_KEY = 'friends/known';

/** What reading the list again found, and how to keep it as the new baseline once it was handled. */
export interface Reread {
  friends: FriendInfo[];
  removed: string[];
  /** A `friend` event per link that is gone or became `friend` / `incoming`. */
  changes: FriendEvent[];
  commit(): Promise<void>;
}

/** Your own switches for one friend (the friend's own are never shown to you). */
export interface Consent {
  /** Match us when we are in range. Both friends must switch it on (C1). */
  proximity: boolean;
  /** Accept this friend's shares without asking while we are in range. */
  autoAccept: boolean;
}

/**
 * Friends and consent (protocol v2). Every method resolves once the relay has stored the change
 * and rejects with a PassbyError when the relay refuses it (`unknown_recipient`, `not_friends`,
 * `no_request`, `invalid_field`) or a ClientError (`timeout`, `disconnected`, `closed`). The other
 * side hears of a request, an acceptance or a removal as a `friend` event; of a decline, nothing.
 */
export class Friends {
  /** @internal Built by the client. */
  constructor(
    private readonly requests: Requests,
    private readonly storage?: Storage,
  ) {}

  /** Asks `id` to be friends; when `id` had already asked you, you are friends at once. */
  async request(id: string): Promise<void> {
    await this.#op('request', id);
  }

  /** Accepts the request `id` sent you. */
  async accept(id: string): Promise<void> {
    await this.#op('accept', id);
  }

  /** Declines the request `id` sent you; `id` is not told. */
  async decline(id: string): Promise<void> {
    await this.#op('decline', id);
  }

  /** Ends a friendship (for both of you) or withdraws a request you sent. */
  async remove(id: string): Promise<void> {
    await this.#op('remove', id);
  }

  /** Your friends and the requests pending either way, with your own switches for each. */
  async list(): Promise<FriendInfo[]> {
    const reply = await this.requests.request({ t: 'friends' });
    await this.#keep(new Map(reply.friends.map((f) => [f.id, f.state])));
    return reply.friends;
  }

  /** @internal The `friends` notice (protocol v4): the list read again, compared with the last one. */
  async reread(): Promise<Reread> {
    const before = await this.#known();
    const reply = await this.requests.request({ t: 'friends' });
    const after = new Map(reply.friends.map((f) => [f.id, f.state]));
    const removed = before === undefined ? [] : [...before.keys()].filter((id) => !after.has(id));
    const changes: FriendEvent[] = removed.map((user) => ({ user, state: 'removed' }));
    if (before !== undefined) {
      for (const f of reply.friends) {
        if (before.get(f.id) !== f.state && (f.state === 'friend' || f.state === 'incoming'))
          changes.push({ user: f.id, state: f.state });
      }
    }
    return { friends: reply.friends, removed, changes, commit: () => this.#keep(after) };
  }

  /** @internal A `friend` notice was handled: the kept list follows it. */
  async noted(event: FriendEvent): Promise<void> {
    const known = await this.#known();
    if (known === undefined) return;
    if (event.state === 'removed') known.delete(event.user);
    else known.set(event.user, event.state);
    await this.#keep(known);
  }

  async #known(): Promise<Map<string, string> | undefined> {
    const text = await this.storage?.get(KNOWN_KEY);
    if (text === undefined) return undefined;
    try {
      const entries = JSON.parse(text) as unknown;
      if (!Array.isArray(entries)) return undefined;
      return new Map(entries.filter((e): e is [string, string] => Array.isArray(e) && e.length === 2));
    } catch {
      return undefined; // a damaged copy is no baseline: the next list() writes a good one
    }
  }

  async #keep(known: Map<string, string>): Promise<void> {
    await this.storage?.set(KNOWN_KEY, JSON.stringify([...known]));
  }

  /** Sets your switches for a friend. Both are required: the relay stores the pair as given. */
  async setConsent(id: string, consent: Consent): Promise<void> {
    checkId(id);
    const { proximity, autoAccept } = consent ?? {};
    if (typeof proximity !== 'boolean' || typeof autoAccept !== 'boolean') {
      throw new TypeError('setConsent needs { proximity: boolean, autoAccept: boolean }');
    }
    await this.requests.request({ t: 'consent', id, proximity, autoAccept });
  }

  async #op(op: 'request' | 'accept' | 'decline' | 'remove', id: string): Promise<void> {
    checkId(id);
    await this.requests.request({ t: 'friend', op, id });
  }
}

function checkId(id: string): void {
  if (typeof id !== 'string' || !USER_ID_PATTERN.test(id)) throw new TypeError('not a user ID');
}
