import { LIMITS, SOCIAL_LIMITS } from '../protocol/index.js';
import { normalizePhone } from './phone.js';
import type { Requests } from './requests.js';
import type { Storage } from './storage.js';

const TICKET_PREFIX = 'ticket/';
/** A ticket names a pending match that the relay keeps at most this long (DESIGN.md). */
const TICKET_LIFE_MS = LIMITS.maxTtlSeconds * 1000;

/** The answer for one number given to `lookup`, in the order given. */
export interface LookupResult {
  /** The number as sent to the relay, in E.164. */
  phone: string;
  /** The user discoverable under this number, or null. */
  id: string | null;
  /**
   * When nobody is discoverable under it yet: the relay's ticket for a later `contact` event,
   * which the SDK reports with this phone number (it keeps the ticket and the number in storage).
   */
  ticket: string | null;
}

/**
 * Contact discovery (protocol v2). The relay stores only a keyed hash of a number (DESIGN.md);
 * the numbers themselves stay on the device, where the SDK keeps, per ticket, the number it was
 * given for, so that a `contact` event can name the number the app looked up.
 */
/** Where the SDK keeps the number you made discoverable and when it last told the relay. */
const PHONE_KEY = 'discovery/phone';

/** How long after the last `discover` the SDK renews it on its own (the relay keeps it 30 days). */
export const DISCOVERY_RENEW_MS = 24 * 3600 * 1000;

export class Discovery {
  constructor(
    private readonly requests: Requests,
    private readonly storage: Storage,
    private readonly now: () => number,
  ) {}

  /**
   * Makes you discoverable by your own number (normalised to E.164, see normalizePhone), or
   * stops it (null). The relay forgets it after its discovery TTL (30 days by default), so the
   * SDK keeps the number in storage and renews it by itself once a day while connected.
   */
  async setPhone(phone: string | null): Promise<void> {
    const e164 = phone === null ? null : normalizePhone(phone);
    await this.requests.request({ t: 'discover', phone: e164 });
    if (e164 === null) await this.storage.delete(PHONE_KEY);
    else await this.storage.set(PHONE_KEY, JSON.stringify({ phone: e164, at: this.now() }));
  }

  /**
   * Tells the relay the number again when the last time is DISCOVERY_RENEW_MS ago or more (the
   * client calls this on every open and once a day while open). True when it renewed.
   */
  async renew(): Promise<boolean> {
    const saved = await this.storage.get(PHONE_KEY);
    if (saved === undefined) return false;
    const { phone, at } = JSON.parse(saved) as { phone: unknown; at: unknown };
    if (typeof phone !== 'string' || typeof at !== 'number') return false;
    if (this.now() - at < DISCOVERY_RENEW_MS) return false;
    await this.requests.request({ t: 'discover', phone });
    await this.storage.set(PHONE_KEY, JSON.stringify({ phone, at: this.now() }));
    return true;
  }

  /**
   * Looks contacts' numbers up: one result per number, in order. Every number must be in
   * international form (a TypeError names none of them, see normalizePhone); repeats are asked
   * once; more than 64 go in several requests. Rejects with `lookup_limited` beyond the relay's
   * hourly budget (200 numbers by default).
   */
  async lookup(phones: readonly string[]): Promise<LookupResult[]> {
    if (!Array.isArray(phones)) throw new TypeError('lookup takes an array of phone numbers');
    const normalised = phones.map((p, i) => {
      try {
        return normalizePhone(p);
      } catch {
        throw new TypeError(`phones[${i}] is not a phone number in international form`);
      }
    });
    const unique = [...new Set(normalised)];
    const found = new Map<string, { id: string | null; ticket: string | null }>();
    for (let i = 0; i < unique.length; i += SOCIAL_LIMITS.maxLookupPhones) {
      const batch = unique.slice(i, i + SOCIAL_LIMITS.maxLookupPhones);
      const reply = await this.requests.request({ t: 'lookup', phones: batch });
      const exp = this.now() + TICKET_LIFE_MS;
      for (const [j, phone] of batch.entries()) {
        const id = reply.ids[j] ?? null;
        const ticket = id === null ? (reply.tickets[j] ?? null) : null;
        if (ticket !== null) await this.storage.set(TICKET_PREFIX + ticket, JSON.stringify({ phone, exp }));
        found.set(phone, { id, ticket });
      }
    }
    return normalised.map((phone) => ({ phone, ...found.get(phone)! }));
  }

  /** The number a ticket was given for, or null when this device never looked it up (or forgot). */
  async phoneForTicket(ticket: string): Promise<string | null> {
    const saved = await this.storage.get(TICKET_PREFIX + ticket);
    if (saved === undefined) return null;
    try {
      const { phone } = JSON.parse(saved) as { phone: unknown };
      return typeof phone === 'string' ? phone : null;
    } catch {
      return null;
    }
  }

  /** A ticket is used once: its `contact` event was handled. */
  async forgetTicket(ticket: string): Promise<void> {
    await this.storage.delete(TICKET_PREFIX + ticket);
  }

  /** Forgets tickets the relay no longer holds. Returns how many. */
  async prune(): Promise<number> {
    const now = this.now();
    let pruned = 0;
    for (const key of await this.storage.keys(TICKET_PREFIX)) {
      const saved = await this.storage.get(key);
      if (saved === undefined) continue;
      let exp = 0;
      try {
        exp = (JSON.parse(saved) as { exp: number }).exp;
      } catch {
        // An entry that does not parse is of no use: forget it.
      }
      if (!(exp >= now)) {
        await this.storage.delete(key);
        pruned++;
      }
    }
    return pruned;
  }
}
