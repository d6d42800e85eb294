import { Cluster } from 'ioredis';
import { leases, type RedisClient, ShardWatch } from '../redis/index.js';
import { type DeviceAuth, MAX_SLOTS } from './contract.js';
import { accountKeys, deviceOwner, parseOwner } from './keys.js';
import { liveCountOf, parseRegistry } from './records.js';
import { AccountCalls } from './redis-calls.js';
import { AccountJobs } from './redis-jobs.js';
import type { DeviceStore } from './store.js';

/*
 * Redis layout of accounts (prefix `pb:`; {uid} the user's hash tag; {T(s)} a tag of slot s,
 * relay/redis/slots.ts; relay/account/keys.ts builds every key):
 *
 *   pb:{uid}:d       hash    the device registry: m -> live mask (bit s: slot s live, pending
 *                            devices included); v -> version (HINCRBY on every change);
 *                            s<slot> -> '<did>:<created>:<seen>:<l|p>'; b<slot> -> pairing box
 *                            until `received`; r<did> -> revoked at (tombstone); seen -> the
 *                            account's last authentication; x -> when an erase was asked (set,
 *                            the registry answers `erased`; a legacy user gets a registry of x
 *                            alone, and the mailbox, which reads m, still sees a legacy user)
 *   pb:{uid}:pk      string  the identity public key (the mailbox store's register() writes the
 *                            same key; registerFirst writes it with the registry)
 *   pb:dev:{did}     string  '<uid>:<slot>': whose device it is. Revoked ones keep it until erase.
 *   pb:seen:{T(s)}   zset    uid -> last authentication, the shard of slot s (slot 0's alone on a
 *                            standalone server: relay/redis/shards.ts indexSlot)
 *   pb:erase:{T(s)}  zset    the erase journal: uid -> when the erase was asked, sharded the same
 *   pb:sweep:{T(s)}:<job>:<node>  the lease of the relay running job devices | erase | inactive
 *                            on that node (relay/redis/lease.ts)
 *
 * A user's registry, pk and shards share its slot, so each script is one call on one slot. The
 * device index pb:dev:{did} is another slot; the writes that cross them are ordered so that the
 * registry is the truth and the index only a pointer into it, checked on every read:
 *   registerFirst / approve  1. dev-claim.lua: the index entry names <uid>:<slot> (set if absent,
 *                            or replacing an orphan: a value whose registry slot holds neither
 *                            the device nor its tombstone); 2. register-first.lua / approve.lua
 *                            fills the registry slot; approve then claims again (3), which
 *                            re-creates an entry an idle sweep took for an orphan meanwhile. A
 *                            crash between 1 and 2 leaves an orphan entry: authDevice finds no
 *                            device in the slot (unknown_device), the next approve or registration
 *                            of that device replaces it, the idle sweep deletes it, and an erase
 *                            of the uid it names deletes it. A failed step 2 drops the entry.
 *   revoke                   revoke.lua alone (the entry stays, for device_revoked).
 *   sweepIdle                unlink.lua, then dev-drop.lua per device (compare-and-delete). A
 *                            crash between them leaves an orphan entry: as above.
 *   erase                    accounts.ts: friends, social, mailbox, then every pb:dev entry naming
 *                            the uid (a SCAN of each primary), then erase-done.lua: registry, pk,
 *                            seen member and the journal entry in one call. A crash anywhere
 *                            leaves the journal entry, and the next run does it all again.
 */

export interface RedisDevicesOptions {
  keyPrefix?: string;
  /** How long a relay's hold on one node's account jobs lasts unless renewed (10 s). */
  leaseMs?: number;
  /** How often a sweep reads again an index shard it believes holds nothing due (10 s). */
  shardRefreshMs?: number;
}

/** The Redis device store; the caller owns `client` (one server or a Cluster) and closes it. */
export function createRedisDevices(client: RedisClient, options: RedisDevicesOptions = {}): DeviceStore {
  const prefix = options.keyPrefix ?? 'pb:';
  const keys = accountKeys(prefix, client instanceof Cluster);
  const c = new AccountCalls(client, keys);
  const refreshMs = options.shardRefreshMs ?? 10_000;
  const seen = new ShardWatch(refreshMs);
  const journal = new ShardWatch(refreshMs);
  const jobs = new AccountJobs(c, prefix, leases(client), options.leaseMs ?? 10_000, seen, journal);
  const seenKey = (uid: string) => keys.seen(keys.shardSlot(uid));

  return {
    async registerFirst(uid, publicKey, did, now) {
      const claimed = await c.claim(did, uid, 0);
      if (claimed === 'taken') return 'exists';
      const r = await c.run(
        'register-first',
        [keys.registry(uid), keys.publicKey(uid), seenKey(uid)],
        [uid, publicKey, did, now],
      );
      if (r === 'ok') {
        seen.filed(keys.shardSlot(uid), now);
        return 'ok';
      }
      if (claimed === 'ok') await c.drop(did, deviceOwner(uid, 0));
      return r === 'erased' ? 'erased' : 'exists';
    },

    async authDevice(did, now): Promise<DeviceAuth> {
      const value = await client.get(keys.device(did));
      const owner = value === null ? null : parseOwner(value);
      if (owner === null) return { status: 'unknown_device' };
      const { uid, slot } = owner;
      const r = (await c.run('auth', [keys.registry(uid), seenKey(uid)], [uid, did, slot, now])) as (
        | string
        | number
      )[];
      switch (r[0]) {
        case 'ok':
          seen.filed(keys.shardSlot(uid), now);
          return { status: 'ok', uid, slot, box: (r[1] as string) || null, liveDevices: Number(r[2]) };
        case 'erased':
          return { status: 'erased' };
        case 'revoked':
          return { status: 'device_revoked' };
        default:
          return { status: 'unknown_device' };
      }
    },

    async hasDevices(uid) {
      const [mask, erased] = await client.hmget(keys.registry(uid), 'm', 'x');
      if (erased !== null) return 'erased';
      return mask !== null;
    },

    async touch(uid, now) {
      if ((await c.run('touch', [keys.registry(uid), seenKey(uid)], [uid, now])) === 1) {
        seen.filed(keys.shardSlot(uid), now);
      }
    },

    async approve(uid, did, box, now, maxDevices) {
      const max = Math.min(maxDevices, MAX_SLOTS);
      for (let attempt = 0; attempt < 4; attempt++) {
        const hash = await client.hgetall(keys.registry(uid));
        const reg = parseRegistry(hash);
        if (hash.m === undefined || reg.erased !== null || reg.revoked.some((d) => d.id === did)) {
          return { status: 'taken' };
        }
        const mine = reg.devices.find((d) => d.id === did);
        if (mine !== undefined) {
          // Repairs an index entry a crash or a race left pointing elsewhere.
          await c.claim(did, uid, mine.slot);
          return { status: 'exists' };
        }
        if (liveCountOf(reg.mask) >= max) return { status: 'full' };
        const used = new Set(reg.devices.map((d) => d.slot));
        let slot = 0;
        while (used.has(slot) || (reg.mask >>> slot) & 1) slot++;
        const claimed = await c.claim(did, uid, slot);
        if (claimed !== 'ok') return { status: claimed === 'mine' ? 'exists' : 'taken' };
        const r = await c.run('approve', [keys.registry(uid)], [did, slot, box, now, max]);
        if (r === 'ok') {
          await c.claim(did, uid, slot);
          return { status: 'ok', slot };
        }
        await c.drop(did, deviceOwner(uid, slot));
        if (r === 'full' || r === 'exists' || r === 'taken') return { status: r };
        // 'busy': another approval took the slot meanwhile; read the registry again.
      }
      throw new Error(`approve: the registry of a user kept changing under ${4} attempts`);
    },

    async received(uid, slot) {
      await client.hdel(keys.registry(uid), `b${slot}`);
    },

    async revoke(uid, did, now) {
      const r = (await c.run('revoke', [keys.registry(uid)], [did, now])) as (string | number)[];
      if (r[0] === 'ok') return { status: 'ok', slot: Number(r[1]) };
      return { status: r[0] === 'last' ? 'last' : 'unknown' };
    },

    async list(uid) {
      return parseRegistry(await client.hgetall(keys.registry(uid))).devices;
    },

    async liveCount(uid) {
      const mask = await client.hget(keys.registry(uid), 'm');
      return mask === null ? 1 : liveCountOf(Number(mask));
    },

    sweepIdle: (idleBefore, pendingBefore, limit) => jobs.sweepIdle(idleBefore, pendingBefore, limit),

    async record(uid) {
      const [hash, publicKey, indexed] = await Promise.all([
        client.hgetall(keys.registry(uid)),
        client.get(keys.publicKey(uid)),
        client.zscore(seenKey(uid), uid),
      ]);
      const reg = parseRegistry(hash);
      const seenAt = reg.seen ?? (indexed === null ? null : Number(indexed));
      return { publicKey, seen: seenAt, devices: reg.devices, revoked: reg.revoked };
    },

    async markErased(uid, now) {
      const slot = keys.shardSlot(uid);
      await c.run('erase-mark', [keys.registry(uid), keys.erase(slot)], [uid, now]);
      journal.filed(slot, now);
    },

    journaled: (now, limit) => jobs.journaled(now, limit),
    dropAll: (uids) => jobs.dropAll(uids),
    fileInactive: (idleBefore, now, limit) => jobs.fileInactive(idleBefore, now, limit),
  };
}
