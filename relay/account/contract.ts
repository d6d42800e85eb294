/**
 * Accounts (issue 12, /work/spec/accounts.md): the devices of an identity, the erase journal and
 * its worker, the inactive-account sweep and the export. Both stores (in-process, Redis standalone
 * and Cluster) keep this contract; test/relay/account/contract.ts runs it on each.
 *
 * What this folder needs of the mailbox and social domains is declared below as narrow
 * structural parts (MailboxPart, SocialPart, Notifier, IdentityPart): the real stores plug in
 * where they are built, and nothing here imports another folder's inner files.
 */

import type { AccountExport } from '../../protocol/index.js';
import { MAX_SLOTS, type MailboxSummary } from '../mailbox/index.js';
import type { SocialSummary } from '../social/index.js';

/** The most devices an identity may have: slots 0..15 of the live mask (relay/mailbox's). */
export { MAX_SLOTS };

export interface DeviceRecord {
  id: string;
  slot: number;
  created: number;
  /** The device's last authentication (its approval time while it never connected). */
  seen: number;
  /** Approved, never connected: pairing pending. */
  pending: boolean;
}

export type DeviceAuth =
  | { status: 'ok'; uid: string; slot: number; box: string | null; liveDevices: number }
  | { status: 'unknown_device' }
  | { status: 'device_revoked' }
  | { status: 'erased' };

export type ApproveResult = { status: 'ok'; slot: number } | { status: 'full' | 'exists' | 'taken' };
export type RevokeResult = { status: 'ok'; slot: number } | { status: 'unknown' | 'last' };
export interface Unlinked {
  uid: string;
  slot: number;
  did: string;
}

export interface Devices {
  /**
   * First device of an identity that has no registry: registers the identity's public key and the
   * device at slot 0. 'exists' when the identity already has a registry (approval is needed), or
   * when the device key is another identity's; 'erased' while an erase of uid is under way.
   * A retry with the same did is 'ok'.
   */
  registerFirst(
    uid: string,
    publicKey: string,
    did: string,
    now: number,
  ): Promise<'ok' | 'exists' | 'erased'>;
  /**
   * Authenticates device `did`: looks up its owner, checks it is live in the owner's registry,
   * sets seen (device, account and the seen index), turns pending into linked.
   */
  authDevice(did: string, now: number): Promise<DeviceAuth>;
  /**
   * Whether uid has a registry (then identity-key auth, v1-3, is refused with device_required);
   * 'erased' (truthy, so a plain `if` still refuses) while an erase of uid is under way.
   */
  hasDevices(uid: string): Promise<boolean | 'erased'>;
  /** Legacy (v1-3) authentication seen: updates the seen index (for inactivity). */
  touch(uid: string, now: number): Promise<void>;
  /**
   * From a live device of uid: approves device `did` (its box = the sealed identity secret).
   * Takes the lowest free slot; 'full' at maxDevices; 'exists' if did is already uid's device;
   * 'taken' if did belongs to another identity or is revoked, or uid has no registry (a legacy
   * user registers its first device with registerFirst) or is being erased.
   */
  approve(uid: string, did: string, box: string, now: number, maxDevices: number): Promise<ApproveResult>;
  /** The device says it stored its box: drop the box. */
  received(uid: string, slot: number): Promise<void>;
  /**
   * Revokes device `did` of uid (not the last live one): clears its slot from m, keeps a
   * tombstone. The caller then runs mailbox.dropDevice and kicks the device.
   */
  revoke(uid: string, did: string, now: number): Promise<RevokeResult>;
  /** The live devices (linked and pending), by slot; [] for a legacy user. */
  list(uid: string): Promise<DeviceRecord[]>;
  /** Live device count (1 for a legacy user). */
  liveCount(uid: string): Promise<number>;
  /**
   * Unlinks devices unseen since `idleBefore` (never a user's last live device) and pending
   * devices approved before `pendingBefore` (with their box); returns what it unlinked so the
   * caller runs dropDevice and kicks. `more` when the limit was reached.
   */
  sweepIdle(
    idleBefore: number,
    pendingBefore: number,
    limit: number,
  ): Promise<{ unlinked: Unlinked[]; more: boolean }>;
}

export interface Accounts {
  /** Everything the relay holds about uid (AccountExport). */
  exportOf(uid: string, now: number): Promise<AccountExport>;
  /**
   * Files uid in the erase journal and marks the registry erased (auth then answers `erased`);
   * idempotent. The caller kicks every device, then the worker runs.
   */
  requestErase(uid: string, now: number): Promise<void>;
  /**
   * Runs the journal: for up to `limit` uids in it, removes every key and value that references
   * them, then drops them from the journal. Idempotent, resumable after a crash.
   */
  runErasures(now: number, limit: number): Promise<{ erased: string[]; more: boolean }>;
  /** Files every account unseen since `idleBefore` in the erase journal. */
  sweepInactive(idleBefore: number, now: number, limit: number): Promise<{ filed: number; more: boolean }>;
}

// ---- what this domain needs of the others (narrow parts; the real stores plug in) ----

/** relay/mailbox: the summary and erase part of a mailbox store (spec "Who does what"). */
export interface MailboxPart {
  summary(uid: string, slots: readonly number[], now: number): Promise<MailboxSummary>;
  forget(uids: readonly string[], now: number): Promise<void>;
  dropDevice(uid: string, slot: number, now: number): Promise<unknown>;
}

/** relay/social: what the erase and export need of the social store. */
export interface SocialPart {
  /** Friends and pending requests both ways (not the ones uid declined). */
  friends(uid: string): Promise<readonly { id: string; state: string }[]>;
  removeFriend(uid: string, other: string): Promise<boolean>;
  summary(uid: string, now: number): Promise<SocialSummary>;
  forget(uid: string, now: number): Promise<void>;
}

/** The notice told to each former friend of an erased account: read your friend list again. */
export interface FriendsNotice {
  kind: 'friends';
}

/** relay/mailbox's notify (Mailbox.notify): files a notice in a user's mailbox until `exp`. */
export interface Notifier {
  notify(uid: string, entryId: string, notice: FriendsNotice, now: number, exp: number): Promise<boolean>;
}

/**
 * Where an identity's public key lives in the in-process deployment (the memory mailbox store's
 * identities); the Redis store writes pb:{uid}:pk itself. `unregister` drops it at erase.
 */
export interface IdentityPart {
  register(uid: string, publicKey: string): Promise<void>;
  publicKeys(uids: readonly string[]): Promise<(string | null)[]>;
  unregister(uid: string): Promise<void>;
  /** The in-process mailbox's copy of uid's live device mask (0: a legacy user); absent on Redis. */
  setLiveMask?(uid: string, mask: number): void;
}

/**
 * relay/push: a device's wake-up push registration goes with the device (revoked, unlinked) and
 * with the account (erase); the export lists each registration's kind, never its token.
 */
export interface PushPart {
  list(uid: string): Promise<readonly { slot: number; kind: string }[]>;
  remove(uid: string, slot: number): Promise<void>;
  forget(uid: string): Promise<void>;
}
