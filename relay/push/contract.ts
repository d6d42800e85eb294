import type { PushKind, PushRegistration } from '../../protocol/index.js';

/**
 * Wake-up pushes (issue 13, PROTOCOL.md "Wake-up pushes"): each device may have one push
 * registration; a device with no connection on any relay node is woken, at most once per coalesce
 * period, when something is filed for it. Both stores (in-process, Redis standalone and Cluster)
 * keep this contract; test/relay/push/contract.ts runs it on each.
 *
 * Everything of a user lives in the user's slot (pb:{uid}:push, :on, :wk), so the wake decision
 * is one atomic call on one slot, and two relay nodes asked about the same device at once send
 * one push between them.
 */

/** A registration as a wake-up found it: `raw` is the stored form, for a compare-and-delete. */
export interface Woken {
  slot: number;
  registration: PushRegistration;
  raw: string;
}

/** A connection of a device, as the online marks name it (relay/connection Hub's token). */
export interface OnlineConn {
  uid: string;
  slot: number;
  token: string;
}

export interface PushStore {
  /** Sets device `slot`'s registration, replacing the one it had. */
  register(uid: string, slot: number, registration: PushRegistration): Promise<void>;
  /** Removes device `slot`'s registration (nothing when it has none). */
  remove(uid: string, slot: number): Promise<void>;
  /**
   * Removes device `slot`'s registration if it is still `raw` (the push service said it is gone:
   * a registration made meanwhile stays). True when it went.
   */
  drop(uid: string, slot: number, raw: string): Promise<boolean>;
  /** The devices with a registration and its kind, by slot (an export: never the token). */
  list(uid: string): Promise<{ slot: number; kind: PushKind }[]>;
  /** Erase: every registration, online mark and wake mark of uid. Idempotent. */
  forget(uid: string): Promise<void>;
  /**
   * Connections of devices are open (attach, and every node's periodic refresh of its own): each
   * device counts as online for `ttlMs` from now (so a dead node's marks expire). At attach
   * (`fresh`) the device's wake mark goes too: the next filing after it leaves wakes it again.
   * A refresh never overwrites another live connection's mark of the same device. Only devices
   * with a registration are marked: the marks serve the wake decision alone. Returns how many
   * marks it wrote.
   */
  online(conns: readonly OnlineConn[], ttlMs: number, fresh: boolean): Promise<number>;
  /** A connection closed: its device is no longer online (unless a newer connection marked it). */
  offline(conn: OnlineConn): Promise<void>;
  /**
   * The wake decision for uid, atomically: each live device with a registration that is not
   * online and was not woken within `coalesceMs` is marked woken and returned; `coalesced` counts
   * those skipped for a recent wake-up.
   */
  claim(uid: string, coalesceMs: number): Promise<{ wake: Woken[]; coalesced: number }>;
}

/** The stored form of a registration: JSON with its fields in a fixed order. */
export function encodeRegistration(r: PushRegistration): string {
  return r.kind === 'webpush'
    ? JSON.stringify({ kind: r.kind, endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth })
    : JSON.stringify({ kind: r.kind, token: r.token });
}

/** The stored form read back; null when it is not one (a value from a later relay version). */
export function decodeRegistration(raw: string): PushRegistration | null {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (v.kind === 'webpush' && typeof v.endpoint === 'string' && typeof v.p256dh === 'string')
      return { kind: 'webpush', endpoint: v.endpoint, p256dh: v.p256dh, auth: String(v.auth) };
    if ((v.kind === 'fcm' || v.kind === 'apns') && typeof v.token === 'string')
      return { kind: v.kind, token: v.token };
  } catch {}
  return null;
}
