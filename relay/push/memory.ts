import { decodeRegistration, encodeRegistration, type PushStore, type Woken } from './contract.js';

/*
 * The in-process push store: the same contract as Redis, for one relay process (the laptop demo
 * and the memory store's tests). Times are this process's clock.
 */

interface Marks {
  registrations: Map<number, string>;
  /** slot -> until and the connection token. */
  online: Map<number, { until: number; token: string }>;
  /** slot -> no wake-up before this. */
  woken: Map<number, number>;
}

export function createMemoryPushStore(now: () => number = Date.now): PushStore {
  const users = new Map<string, Marks>();
  const of = (uid: string): Marks => {
    let m = users.get(uid);
    if (m === undefined) {
      m = { registrations: new Map(), online: new Map(), woken: new Map() };
      users.set(uid, m);
    }
    return m;
  };
  const tidy = (uid: string) => {
    const m = users.get(uid);
    if (m && m.registrations.size + m.online.size + m.woken.size === 0) users.delete(uid);
  };

  return {
    async register(uid, slot, registration) {
      of(uid).registrations.set(slot, encodeRegistration(registration));
    },
    async remove(uid, slot) {
      users.get(uid)?.registrations.delete(slot);
      tidy(uid);
    },
    async drop(uid, slot, raw) {
      const m = users.get(uid);
      if (m?.registrations.get(slot) !== raw) return false;
      m.registrations.delete(slot);
      tidy(uid);
      return true;
    },
    async list(uid) {
      const out = [];
      for (const [slot, raw] of users.get(uid)?.registrations ?? []) {
        const r = decodeRegistration(raw);
        if (r !== null) out.push({ slot, kind: r.kind });
      }
      return out.sort((a, b) => a.slot - b.slot);
    },
    async forget(uid) {
      users.delete(uid);
    },
    async online(conns, ttlMs, fresh) {
      const at = now();
      let marked = 0;
      for (const c of conns) {
        const m = users.get(c.uid);
        if (m === undefined || !m.registrations.has(c.slot)) continue;
        const cur = m.online.get(c.slot);
        if (fresh || cur === undefined || cur.token === c.token || cur.until <= at) {
          m.online.set(c.slot, { until: at + ttlMs, token: c.token });
          if (fresh) m.woken.delete(c.slot);
          marked++;
        }
      }
      return marked;
    },
    async offline(conn) {
      const m = users.get(conn.uid);
      if (m?.online.get(conn.slot)?.token === conn.token) m.online.delete(conn.slot);
      tidy(conn.uid);
    },
    async claim(uid, coalesceMs) {
      const m = users.get(uid);
      const wake: Woken[] = [];
      let coalesced = 0;
      if (m === undefined) return { wake, coalesced };
      const at = now();
      for (const [slot, raw] of m.registrations) {
        if ((m.online.get(slot)?.until ?? 0) > at) continue;
        if ((m.woken.get(slot) ?? 0) > at) {
          coalesced++;
          continue;
        }
        const registration = decodeRegistration(raw);
        if (registration === null) continue;
        m.woken.set(slot, at + coalesceMs);
        wake.push({ slot, registration, raw });
      }
      return { wake, coalesced };
    },
  };
}
