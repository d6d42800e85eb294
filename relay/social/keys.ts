import { indexSlot, shardKey, slotOf, userSlot } from '../redis/index.js';

/*
 * The key builders of the Redis social store, one place for every key (redis.ts documents the
 * layout). Every key carries a hash tag: a user's {uid}, a discovery hash's {hash}, a token's
 * {token}, a pair's {a:b}, or the tag of the slot an index shard serves.
 */

export interface SocialKeys {
  /** pb:{uid}:<suffix>: fr (links), disc, lk, pu, pr, tok. */
  user(uid: string, suffix: 'fr' | 'disc' | 'lk' | 'pu' | 'pr' | 'tok'): string;
  /** The link outbox shard of the slot of user `uid`'s keys. */
  linkOutbox(uid: string): string;
  /** The link outbox shard of slot `slot`. */
  linkOutboxOfSlot(slot: number): string;
  disc(hash: string): string;
  pend(hash: string): string;
  /** The shard of the pending-match expiry index for the slot of `pend(hash)`. */
  pendIndex(hash: string): string;
  pendIndexOfSlot(slot: number): string;
  token(token: string): string;
  /** The in-range mark of a pair, whatever the order of a and b. */
  near(a: string, b: string): string;
}

/** `sharded`: index shards per slot (a Cluster), or one per index (a standalone server). */
export function socialKeys(prefix: string, sharded: boolean): SocialKeys {
  const pend = (hash: string) => `${prefix}pend:{${hash}}`;
  return {
    user: (uid, suffix) => `${prefix}{${uid}}:${suffix}`,
    linkOutbox: (uid) => shardKey(prefix, 'linkq', indexSlot(sharded, userSlot(uid))),
    linkOutboxOfSlot: (slot) => shardKey(prefix, 'linkq', slot),
    disc: (hash) => `${prefix}disc:{${hash}}`,
    pend,
    pendIndex: (hash) => shardKey(prefix, 'pendx', indexSlot(sharded, slotOf(pend(hash)))),
    pendIndexOfSlot: (slot) => shardKey(prefix, 'pendx', slot),
    token: (token) => `${prefix}tok:{${token}}`,
    near: (a, b) => (a < b ? `${prefix}near:{${a}:${b}}` : `${prefix}near:{${b}:${a}}`),
  };
}

/** The link outbox member of a pair: '<actor>:<other>' (IDs are base64url, never ':'). */
export const linkMember = (actor: string, other: string) => `${actor}:${other}`;
