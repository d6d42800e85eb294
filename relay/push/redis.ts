import { Cluster } from 'ioredis';
import type { PushRegistration } from '../../protocol/index.js';
import { Args, evalScript, loadScripts, type RedisClient, type Script, slotOf } from '../redis/index.js';
import {
  decodeRegistration,
  encodeRegistration,
  type OnlineConn,
  type PushStore,
  type Woken,
} from './contract.js';
import { pushKeys } from './keys.js';

/*
 * The Redis push store (keys.ts has the layout). Every call is on one user's slot: a plain
 * command, or one of lua/*.lua (online marks, the wake decision, a compare-and-delete).
 */

const SCRIPTS = loadScripts(import.meta.url, ['online', 'wake', 'drop']);

export function createRedisPushStore(client: RedisClient, options: { keyPrefix?: string } = {}): PushStore {
  const keys = pushKeys(options.keyPrefix ?? 'pb:');
  const clustered = client instanceof Cluster;
  const run = (s: Script, k: readonly string[], argv: readonly (string | number)[]) => {
    const args = new Args();
    for (const key of k) args.text(key);
    args.endKeys();
    for (const a of argv) {
      if (typeof a === 'number') args.int(a);
      else args.text(a);
    }
    return evalScript(client, s, args, clustered ? slotOf(k[0]!) : null);
  };
  const onlineCall = (uid: string, op: string, ttlMs: number, conns: readonly OnlineConn[]) =>
    run(
      SCRIPTS.online,
      [keys.online(uid), keys.woken(uid), keys.registry(uid), keys.registrations(uid)],
      [op, ttlMs, ...conns.flatMap((c) => [c.slot, c.token])],
    );

  return {
    async register(uid, slot, registration: PushRegistration) {
      await client.hset(keys.registrations(uid), String(slot), encodeRegistration(registration));
    },

    async remove(uid, slot) {
      await client.hdel(keys.registrations(uid), String(slot));
    },

    async drop(uid, slot, raw) {
      return Number(await run(SCRIPTS.drop, [keys.registrations(uid)], [slot, raw])) === 1;
    },

    async list(uid) {
      const all = await client.hgetall(keys.registrations(uid));
      const out = [];
      for (const [slot, raw] of Object.entries(all)) {
        const r = decodeRegistration(raw);
        if (r !== null) out.push({ slot: Number(slot), kind: r.kind });
      }
      return out.sort((a, b) => a.slot - b.slot);
    },

    async forget(uid) {
      await client.del(keys.registrations(uid), keys.online(uid), keys.woken(uid));
    },

    async online(conns, ttlMs, fresh) {
      const byUser = new Map<string, OnlineConn[]>();
      for (const c of conns) {
        const list = byUser.get(c.uid);
        if (list === undefined) byUser.set(c.uid, [c]);
        else list.push(c);
      }
      const op = fresh ? 'attach' : 'refresh';
      const marked = await Promise.all([...byUser].map(([uid, list]) => onlineCall(uid, op, ttlMs, list)));
      return marked.reduce<number>((sum, m) => sum + Number(m), 0);
    },

    async offline(conn) {
      await onlineCall(conn.uid, 'detach', 0, [conn]);
    },

    async claim(uid, coalesceMs) {
      const reply = (await run(
        SCRIPTS.wake,
        [keys.registrations(uid), keys.online(uid), keys.woken(uid), keys.registry(uid)],
        [coalesceMs],
      )) as (string | number)[];
      const wake: Woken[] = [];
      for (let i = 1; i + 1 < reply.length; i += 2) {
        const raw = String(reply[i + 1]);
        const registration = decodeRegistration(raw);
        if (registration !== null) wake.push({ slot: Number(reply[i]), registration, raw });
      }
      return { wake, coalesced: Number(reply[0]) };
    },
  };
}
