import { type DeviceRecord, type IdentityPart, MAX_SLOTS } from './contract.js';
import { idleSlots } from './idle.js';
import { liveCountOf } from './records.js';
import type { DeviceStore } from './store.js';

/*
 * The in-process device store: the same contract as Redis (every operation atomic here, so the
 * two-step writes of the Redis store have no counterpart). The identity's public key lives in the
 * memory mailbox store's identities (IdentityPart), as the Redis store's lives in pb:{uid}:pk.
 */

interface Registry {
  mask: number;
  slots: (DeviceRecord | null)[];
  boxes: Map<number, string>;
  revoked: Map<string, number>;
  seen: number | null;
  erased: number | null;
}

export function createMemoryDevices(identities: IdentityPart): DeviceStore {
  const registries = new Map<string, Registry>();
  const owners = new Map<string, { uid: string; slot: number }>();
  const seenIndex = new Map<string, number>();
  const journal = new Map<string, number>();

  const live = (r: Registry) => r.slots.filter((d): d is DeviceRecord => d !== null);
  const see = (uid: string, now: number) => seenIndex.set(uid, Math.max(now, seenIndex.get(uid) ?? now));
  /** Tells the in-process mailbox the live mask (the Redis mailbox reads pb:{uid}:d itself). */
  const sync = (uid: string, mask: number) => identities.setLiveMask?.(uid, mask);
  function unlink(uid: string, r: Registry, slot: number): DeviceRecord {
    const d = r.slots[slot]!;
    r.slots[slot] = null;
    r.boxes.delete(slot);
    r.mask &= ~(1 << slot);
    sync(uid, r.mask);
    return d;
  }

  function markErased(uid: string, now: number): void {
    let r = registries.get(uid);
    if (r === undefined) {
      const slots = new Array<DeviceRecord | null>(MAX_SLOTS).fill(null);
      r = { mask: 0, slots, boxes: new Map(), revoked: new Map(), seen: null, erased: null };
      registries.set(uid, r);
    }
    r.erased ??= now;
    if (!journal.has(uid)) journal.set(uid, now);
  }

  return {
    async registerFirst(uid, publicKey, did, now) {
      const r = registries.get(uid);
      if (r?.erased != null) return 'erased';
      if (r !== undefined) return r.slots[0]?.id === did ? 'ok' : 'exists';
      if (owners.has(did)) return 'exists';
      const slots = new Array<DeviceRecord | null>(MAX_SLOTS).fill(null);
      slots[0] = { id: did, slot: 0, created: now, seen: now, pending: false };
      registries.set(uid, { mask: 1, slots, boxes: new Map(), revoked: new Map(), seen: now, erased: null });
      owners.set(did, { uid, slot: 0 });
      sync(uid, 1);
      await identities.register(uid, publicKey);
      see(uid, now);
      return 'ok';
    },

    async authDevice(did, now) {
      const owner = owners.get(did);
      const r = owner && registries.get(owner.uid);
      if (owner === undefined || r === undefined) return { status: 'unknown_device' };
      if (r.erased !== null) return { status: 'erased' };
      const d = r.slots[owner.slot];
      if (d?.id !== did) return { status: r.revoked.has(did) ? 'device_revoked' : 'unknown_device' };
      d.seen = now;
      d.pending = false;
      r.seen = now;
      see(owner.uid, now);
      const box = r.boxes.get(owner.slot) ?? null;
      return { status: 'ok', uid: owner.uid, slot: owner.slot, box, liveDevices: liveCountOf(r.mask) };
    },

    async hasDevices(uid) {
      const r = registries.get(uid);
      if (r === undefined) return false;
      return r.erased !== null ? 'erased' : true;
    },

    async touch(uid, now) {
      if (registries.get(uid)?.erased != null) return;
      see(uid, now);
    },

    async approve(uid, did, box, now, maxDevices) {
      const r = registries.get(uid);
      if (r === undefined || r.erased !== null || r.revoked.has(did)) return { status: 'taken' };
      if (r.slots.some((d) => d?.id === did)) return { status: 'exists' };
      if (owners.has(did)) return { status: 'taken' };
      if (liveCountOf(r.mask) >= Math.min(maxDevices, MAX_SLOTS)) return { status: 'full' };
      const slot = r.slots.indexOf(null);
      r.slots[slot] = { id: did, slot, created: now, seen: now, pending: true };
      r.boxes.set(slot, box);
      r.mask |= 1 << slot;
      sync(uid, r.mask);
      owners.set(did, { uid, slot });
      return { status: 'ok', slot };
    },

    async received(uid, slot) {
      registries.get(uid)?.boxes.delete(slot);
    },

    async revoke(uid, did, now) {
      const r = registries.get(uid);
      const d = r?.erased === null ? r.slots.find((s) => s?.id === did) : undefined;
      if (r === undefined || d == null) return { status: 'unknown' };
      if (liveCountOf(r.mask) <= 1) return { status: 'last' };
      unlink(uid, r, d.slot);
      r.revoked.set(did, now);
      return { status: 'ok', slot: d.slot };
    },

    async list(uid) {
      const r = registries.get(uid);
      return r ? live(r).map((d) => ({ ...d })) : [];
    },

    async liveCount(uid) {
      const r = registries.get(uid);
      return r ? liveCountOf(r.mask) : 1;
    },

    async sweepIdle(idleBefore, pendingBefore, limit) {
      const unlinked: { uid: string; slot: number; did: string }[] = [];
      for (const [uid, r] of registries) {
        if (r.erased !== null) continue;
        for (const slot of idleSlots(live(r), idleBefore, pendingBefore)) {
          if (unlinked.length >= limit) return { unlinked, more: true };
          const d = unlink(uid, r, slot);
          owners.delete(d.id);
          unlinked.push({ uid, slot, did: d.id });
        }
      }
      return { unlinked, more: false };
    },

    async record(uid) {
      const r = registries.get(uid);
      const [publicKey] = await identities.publicKeys([uid]);
      return {
        publicKey: publicKey ?? null,
        seen: r?.seen ?? seenIndex.get(uid) ?? null,
        devices: r ? live(r).map((d) => ({ ...d })) : [],
        revoked: r ? [...r.revoked].map(([id, at]) => ({ id, at })).sort((a, b) => a.at - b.at) : [],
      };
    },

    async markErased(uid, now) {
      markErased(uid, now);
    },

    async journaled(now, limit) {
      const due = [...journal].filter(([, at]) => at <= now).map(([uid]) => uid);
      return { uids: due.slice(0, limit), more: due.length > limit };
    },

    async dropAll(uids) {
      const gone = new Set(uids);
      for (const [did, owner] of owners) if (gone.has(owner.uid)) owners.delete(did);
      for (const uid of uids) {
        registries.delete(uid);
        sync(uid, 0);
        await identities.unregister(uid);
        seenIndex.delete(uid);
        journal.delete(uid);
      }
    },

    async fileInactive(idleBefore, now, limit) {
      let filed = 0;
      for (const [uid, seen] of seenIndex) {
        if (seen > idleBefore) continue;
        if (filed >= limit) return { filed, more: true };
        seenIndex.delete(uid);
        markErased(uid, now);
        filed++;
      }
      return { filed, more: false };
    },
  };
}
