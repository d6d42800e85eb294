import type { DeviceRecord, Devices } from './contract.js';

/*
 * What the erase worker, the inactive sweep and the export (accounts.ts) need of a device store
 * beyond Devices: the same for the in-process store (memory.ts) and Redis (redis.ts), so the order
 * of an erase and the export's assembly are written once.
 */

export interface AccountRecord {
  publicKey: string | null;
  /** The account's last authentication (registry, else the seen index), null when unknown. */
  seen: number | null;
  devices: DeviceRecord[];
  revoked: { id: string; at: number }[];
}

export interface DeviceStore extends Devices {
  /** uid's public key, devices and tombstones, for an export. */
  record(uid: string): Promise<AccountRecord>;
  /** Marks uid's registry erased (creating it for a legacy user) and files uid in the journal. */
  markErased(uid: string, now: number): Promise<void>;
  /** Up to `limit` uids of the journal filed at or before `now`. */
  journaled(now: number, limit: number): Promise<{ uids: string[]; more: boolean }>;
  /**
   * The devices step of an erase, for every uid of a batch: each device index entry naming one
   * of them (found by a pass over the keyspace, so an orphan a crash left goes too), then per uid
   * the registry, the public key, the seen-index member and, last, the journal entry. Idempotent.
   */
  dropAll(uids: readonly string[]): Promise<void>;
  /** Files in the journal up to `limit` accounts unseen since `idleBefore`. */
  fileInactive(idleBefore: number, now: number, limit: number): Promise<{ filed: number; more: boolean }>;
}
