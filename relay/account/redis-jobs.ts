import type { Leases, ShardWatch } from '../redis/index.js';
import type { Unlinked } from './contract.js';
import { deviceOwner, parseOwner } from './keys.js';
import type { AccountCalls } from './redis-calls.js';
import { scanPages } from './redis-calls.js';

/*
 * The Redis device store's jobs beside its requests: the idle sweep, the erase journal's reads and
 * its devices step, the inactive sweep. Each walks the Redis nodes one by one, a node under a
 * lease one relay holds at a time (relay/redis/shards.ts leasedNodes), except the devices step of
 * an erase, which must see every node.
 */

/** Members read from one shard at a time. */
const SHARD_PAGE = 100;

export class AccountJobs {
  /** Where the idle sweep of each node stopped (a SCAN cursor), when it ran out of budget. */
  private readonly idleCursors = new Map<string, string>();

  constructor(
    private readonly c: AccountCalls,
    private readonly prefix: string,
    private readonly leases: Leases,
    private readonly leaseMs: number,
    private readonly seen: ShardWatch,
    private readonly journal: ShardWatch,
  ) {}

  /**
   * SCANs the keys of each held node (resuming where the last call ran out of budget): each
   * registry goes through unlink.lua, each device index entry that points at no device of its
   * registry (an orphan) is deleted.
   */
  async sweepIdle(
    idleBefore: number,
    pendingBefore: number,
    limit: number,
  ): Promise<{ unlinked: Unlinked[]; more: boolean }> {
    const { c, prefix } = this;
    const registry = new RegExp(`^${escapeRegExp(prefix)}\\{(.+)\\}:d$`);
    const device = new RegExp(`^${escapeRegExp(prefix)}dev:\\{(.+)\\}$`);
    const unlinked: Unlinked[] = [];
    for (const { node, redis } of await c.leasedPrimaries(this.leases, prefix, 'devices', this.leaseMs)) {
      for await (const page of scanPages(redis, `${prefix}*`, this.idleCursors.get(node))) {
        for (const key of page.keys) {
          const budget = limit - unlinked.length;
          if (budget <= 0) {
            // This page is read again next time: what it did is not done twice.
            this.idleCursors.set(node, page.from);
            return { unlinked, more: true };
          }
          const uid = registry.exec(key)?.[1];
          if (uid !== undefined) {
            const r = (await c.run('unlink', [key], [idleBefore, pendingBefore, budget])) as (
              | string
              | number
            )[];
            for (let i = 0; i + 1 < r.length; i += 2) {
              const slot = Number(r[i]);
              const did = String(r[i + 1]);
              await c.drop(did, deviceOwner(uid, slot));
              unlinked.push({ uid, slot, did });
            }
            continue;
          }
          const did = device.exec(key)?.[1];
          if (did !== undefined) await this.dropOrphan(did);
        }
      }
      this.idleCursors.delete(node);
    }
    return { unlinked, more: false };
  }

  private async dropOrphan(did: string): Promise<void> {
    const { c } = this;
    const value = await c.client.get(c.keys.device(did));
    const owner = value === null ? null : parseOwner(value);
    if (value === null || (owner !== null && (await c.holds(owner.uid, owner.slot, did)))) return;
    await c.drop(did, value);
  }

  /** Up to `limit` uids of the journal shards of the held nodes, filed at or before `now`. */
  async journaled(now: number, limit: number): Promise<{ uids: string[]; more: boolean }> {
    const { c } = this;
    const uids: string[] = [];
    for (const { slots } of await c.leasedPrimaries(this.leases, this.prefix, 'erase', this.leaseMs)) {
      for (const slot of await this.journal.due(c.client, slots, c.keys.erase, now)) {
        const room = limit - uids.length;
        if (room <= 0) return { uids, more: true };
        this.journal.visited(slot);
        const page = await c.client.zrangebyscore(c.keys.erase(slot), '-inf', now, 'LIMIT', 0, room + 1);
        uids.push(...page.slice(0, room));
        if (page.length > room) return { uids, more: true };
      }
    }
    return { uids, more: false };
  }

  /**
   * The devices step of an erase: every pb:dev entry naming one of `uids` (one SCAN of every
   * primary for the whole batch, so an orphan goes too), then each uid's erase-done.lua.
   */
  async dropAll(uids: readonly string[]): Promise<void> {
    const { c } = this;
    const gone = new Set(uids);
    for (const redis of c.primaries()) {
      for await (const { keys } of scanPages(redis, `${this.prefix}dev:*`)) {
        const values = await Promise.all(keys.map((key) => c.client.get(key)));
        await Promise.all(
          keys.map((key, i) => {
            const value = values[i];
            const owner = value == null ? null : parseOwner(value);
            return owner !== null && gone.has(owner.uid)
              ? c.run('dev-drop', [key], [value!])
              : Promise.resolve();
          }),
        );
      }
    }
    for (const uid of uids) {
      const slot = c.keys.shardSlot(uid);
      await c.run(
        'erase-done',
        [c.keys.registry(uid), c.keys.publicKey(uid), c.keys.seen(slot), c.keys.erase(slot)],
        [uid],
      );
    }
  }

  /** Files in the journal the accounts of the held nodes' seen shards unseen since `idleBefore`. */
  async fileInactive(
    idleBefore: number,
    now: number,
    limit: number,
  ): Promise<{ filed: number; more: boolean }> {
    const { c } = this;
    let filed = 0;
    for (const { slots } of await c.leasedPrimaries(this.leases, this.prefix, 'inactive', this.leaseMs)) {
      for (const slot of await this.seen.due(c.client, slots, c.keys.seen, idleBefore)) {
        const room = Math.min(limit - filed, SHARD_PAGE);
        if (room <= 0) return { filed, more: true };
        this.seen.visited(slot);
        const uids = await c.client.zrangebyscore(c.keys.seen(slot), '-inf', idleBefore, 'LIMIT', 0, room);
        if (uids.length === 0) continue;
        filed += Number(
          await c.run(
            'inactive',
            [c.keys.seen(slot), c.keys.erase(slot), ...uids.map((uid) => c.keys.registry(uid))],
            [idleBefore, now, ...uids],
          ),
        );
        this.journal.filed(slot, now);
        if (uids.length === room) return { filed, more: true };
      }
    }
    return { filed, more: false };
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
