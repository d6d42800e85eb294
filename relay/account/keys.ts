import { indexSlot, shardKey, userSlot } from '../redis/index.js';
import { MAX_SLOTS } from './contract.js';

/*
 * The Redis keys of the account domain, written once (redis.ts documents the layout), and the
 * value of a device index entry.
 */

export interface AccountKeys {
  /** pb:{uid}:d, the device registry. */
  registry(uid: string): string;
  /** pb:{uid}:pk, the identity's public key: the same key as the mailbox store's register(). */
  publicKey(uid: string): string;
  /** pb:dev:{did}: "<uid>:<slot>", which identity a device key belongs to. */
  device(did: string): string;
  /** The slot that names uid's index shards: its own on a Cluster, 0 on a standalone server. */
  shardSlot(uid: string): number;
  /** pb:seen:{T(s)}, uid -> last authentication. */
  seen(slot: number): string;
  /** pb:erase:{T(s)}, the erase journal: uid -> when the erase was asked. */
  erase(slot: number): string;
}

export function accountKeys(prefix: string, sharded: boolean): AccountKeys {
  return {
    registry: (uid) => `${prefix}{${uid}}:d`,
    publicKey: (uid) => `${prefix}{${uid}}:pk`,
    device: (did) => `${prefix}dev:{${did}}`,
    shardSlot: (uid) => indexSlot(sharded, userSlot(uid)),
    seen: (slot) => shardKey(prefix, 'seen', slot),
    erase: (slot) => shardKey(prefix, 'erase', slot),
  };
}

/** The value of pb:dev:{did}. */
export function deviceOwner(uid: string, slot: number): string {
  return `${uid}:${slot}`;
}

export function parseOwner(value: string): { uid: string; slot: number } | null {
  const at = value.lastIndexOf(':');
  const slot = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) return null;
  return { uid: value.slice(0, at), slot };
}
