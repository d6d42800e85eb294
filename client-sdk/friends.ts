import { type FriendInfo, USER_ID_PATTERN } from '../protocol/index.js';
import type { Requests } from './requests.js';

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
  constructor(private readonly requests: Requests) {}

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
    return reply.friends;
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
