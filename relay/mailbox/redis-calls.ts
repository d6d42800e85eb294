import { Cluster, Command } from 'ioredis';
import { PassbyError } from '../../protocol/index.js';
import {
  Args,
  evalScript,
  type Leases,
  leasedNodes,
  loadScripts,
  type RedisClient,
  ShardWatch,
  userSlot,
} from '../redis/index.js';
import type { MailboxProbe, StoreLimits, SweepResult } from './contract.js';
import { BOX_KEYS, boxKeys, expiryShard, orderKey, parseNote, type ReceiptNote } from './keys.js';

/*
 * How the Redis mailbox store (redis.ts) calls its scripts: which slot a user's call goes to, the
 * keys of its mailboxes, WAIT for replicas, what this relay filed in the expiry shards, and the two
 * jobs that run beside the message path: the second step of receipts and the sweep.
 */

export const SCRIPTS = loadScripts(
  import.meta.url,
  ['send', 'ack', 'fetch', 'probe', 'notify', 'share', 'answer', 'sweep', 'receipts', 'dropdevice', 'forget'],
  'mailbox',
);

/** How long a receipt note waits in its shard before a sweep files it (lua/mailbox.lua RECEIPT_GRACE_MS). */
export const RECEIPT_GRACE_MS = 30_000;
/** Mailboxes one sweep call visits. */
const SWEEP_MAILBOXES = 100;

export class MailboxCalls {
  private readonly clustered: boolean;
  /** What this relay knows of each shard's earliest due time, so a sweep reads only what may be due. */
  private readonly expiries: ShardWatch;
  /** Told the senders whose mailboxes got receipts (Mailbox.onReceipts). */
  receiptsFiled: (senders: readonly string[]) => void = () => {};

  constructor(
    private readonly cmd: RedisClient,
    private readonly prefix: string,
    readonly limits: StoreLimits,
    private readonly wait: { replicas: number; timeoutMs: number },
    shardRefreshMs: number,
  ) {
    this.clustered = cmd instanceof Cluster;
    this.expiries = new ShardWatch(shardRefreshMs);
  }

  /**
   * The slot a user's calls are grouped and routed by, which names its expiry shard too: its own
   * on a Cluster, slot 0 (the one shard of each index) on a standalone server.
   */
  slotOfUser(uid: string): number {
    // No CRC16 (and its string) on a standalone server, where every user is in slot 0's group.
    return this.clustered ? userSlot(uid) : 0;
  }

  /** Item indices grouped per script call: by slot on a Cluster, all in one on a standalone server. */
  calls<T>(items: readonly T[], uidOf: (item: T) => string): Map<number, number[]> {
    const out = new Map<number, number[]>();
    for (let i = 0; i < items.length; i++) {
      const slot = this.slotOfUser(uidOf(items[i]!));
      const list = out.get(slot);
      if (list === undefined) out.set(slot, [i]);
      else list.push(i);
    }
    return out;
  }

  /**
   * Writes the keys of each distinct mailbox of a call of `slot` (slotOfUser of each); returns
   * each uid's mailbox index.
   */
  mailboxes(args: Args, uids: Iterable<string>, slot: number): Map<string, number> {
    const index = new Map<string, number>();
    for (const uid of uids) {
      if (index.has(uid)) continue;
      index.set(uid, index.size + 1);
      for (const key of boxKeys(this.prefix, uid, slot)) args.text(key);
    }
    args.endKeys();
    return index;
  }

  /** Mailbox.newer: one probe call per slot (one on a standalone server), all at once. */
  async newer(probes: readonly MailboxProbe[]): Promise<boolean[]> {
    const out = new Array<boolean>(probes.length).fill(false);
    await Promise.all(
      [...this.calls(probes, (p) => p.uid)].map(async ([slot, indices]) => {
        const args = new Args(64 + 80 * indices.length);
        for (const i of indices) args.text(orderKey(this.prefix, probes[i]!.uid));
        args.endKeys();
        for (const i of indices) args.int(probes[i]!.after);
        const reply = String(await this.call('probe', args, slot));
        indices.forEach((i, j) => {
          out[i] = reply.charCodeAt(j) === 0x31;
        });
      }),
    );
    return out;
  }

  /** Runs script `name` with `args` on the primary of `slot` (any on a standalone server). */
  call(name: keyof typeof SCRIPTS, args: Args, slot: number, binary = false): Promise<unknown> {
    return evalScript(this.cmd, SCRIPTS[name], args, this.clustered ? slot : null, binary);
  }

  /**
   * Removes entries and held groups (`<from>:<share mid>`) from uid's mailbox through the
   * mailbox's remove rule, filing no receipt (lua/forget.lua). Returns how many went.
   */
  async removeEntries(uid: string, ids: readonly string[], groups: readonly string[]): Promise<number> {
    const args = new Args();
    const slot = this.slotOfUser(uid);
    this.mailboxes(args, [uid], slot);
    args.text(uid).int(ids.length);
    for (const id of ids) args.text(id);
    for (const group of groups) args.text(group);
    return Number(await this.call('forget', args, slot));
  }

  /** lua/dropdevice.lua on uid's mailbox, then the receipts it noted. Returns how many entries went. */
  async dropDevice(uid: string, deviceSlot: number, now: number): Promise<number> {
    const args = new Args();
    const slot = this.slotOfUser(uid);
    this.mailboxes(args, [uid], slot);
    args.text(uid).int(deviceSlot).int(now);
    const [deleted, ...notes] = (await this.call('dropdevice', args, slot)) as [number, ...string[]];
    if (notes.length > 0) {
      this.noteDue(slot, now + RECEIPT_GRACE_MS);
      await this.fileReceipts(notes);
    }
    return Number(deleted);
  }

  /** This relay filed something due at `due` in the expiry shard of `slot`. */
  noteDue(slot: number, due: number): void {
    this.expiries.filed(slot, due);
  }

  /** Redis WAIT after a write of `slot`: its replicas have it, or the write is not confirmed. */
  async replicated(slot: number): Promise<void> {
    const { replicas, timeoutMs } = this.wait;
    if (replicas === 0) return;
    const wait = new Command('wait', [String(replicas), String(timeoutMs)], { replyEncoding: 'utf8' });
    if (this.clustered) (wait as unknown as { slot: number }).slot = slot;
    const acked = Number(await this.cmd.sendCommand(wait));
    if (acked < replicas) {
      throw new PassbyError(
        'store_unavailable',
        `stored, but ${acked} of ${replicas} replicas confirmed it within ${timeoutMs} ms`,
      );
    }
  }

  /**
   * The second step of receipts noted by an ack, answer or sweep: files each in its sender's
   * mailbox (one call per sender slot), then removes the notes from their shards. Returns how
   * many were filed (a note filed before is not filed again).
   */
  async fileReceipts(raw: readonly string[]): Promise<number> {
    const notes = raw.map(parseNote).filter((n): n is ReceiptNote => n !== null);
    if (notes.length === 0) return 0;
    let filed = 0;
    await Promise.all(
      [...this.calls(notes, (n) => n.from)].map(async ([slot, indices]) => {
        const args = new Args(64 + indices.length * (BOX_KEYS * 60 + 160));
        const index = this.mailboxes(
          args,
          indices.map((i) => notes[i]!.from),
          slot,
        );
        args.int(this.limits.receiptTtlMs).int(indices.length);
        for (const i of indices) {
          const n = notes[i]!;
          args.int(index.get(n.from)!).text(n.from).text(n.rid).text(n.status);
          this.noteDue(slot, Number(n.status.slice(1)) + this.limits.receiptTtlMs);
        }
        const added = Number(await this.call('receipts', args, slot));
        filed += added;
        if (added > 0) this.receiptsFiled(indices.map((i) => notes[i]!.from));
      }),
    );
    const byShard = new Map<string, string[]>();
    for (const n of notes) {
      const shard = expiryShard(this.prefix, this.slotOfUser(n.recipient));
      const list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, [n.note]);
      else list.push(n.note);
    }
    await Promise.all([...byShard].map(([shard, members]) => this.cmd.zrem(shard, ...members)));
    return filed;
  }

  /**
   * Deletes up to `limit` entries due at `now` in the nodes this relay holds the sweep lease of,
   * reading only the shards that may hold something due, and files the receipts a relay left
   * noted (it died between the two steps) once they are due.
   */
  async sweep(now: number, limit: number, lease: Leases, leaseMs: number): Promise<SweepResult> {
    const { cmd, prefix, expiries } = this;
    let budget = Math.max(0, Math.floor(limit));
    let expired = 0;
    let receipts = 0;
    let more = false;
    // One relay at a time sweeps a node; the others skip it while its lease lasts.
    for (const slots of await leasedNodes(cmd, lease, prefix, 'mailbox', leaseMs)) {
      for (const slot of await expiries.due(cmd, slots, (s) => expiryShard(prefix, s), now)) {
        if (budget <= 0) return { expired, receipts, more: true };
        expiries.visited(slot);
        const visit = Math.min(budget, SWEEP_MAILBOXES);
        const due = await cmd.zrangebyscore(
          expiryShard(prefix, slot),
          '-inf',
          String(now),
          'LIMIT',
          0,
          visit,
        );
        if (due.length === visit) more = true;
        const notes = due.filter((member) => member.startsWith('r '));
        if (notes.length > 0) receipts += await this.fileReceipts(notes);
        const uids = due.filter((member) => !member.startsWith('r '));
        if (uids.length === 0) continue;
        const args = new Args();
        this.mailboxes(args, uids, slot);
        args.int(now).int(budget).int(uids.length);
        for (const uid of uids) args.text(uid);
        const reply = (await this.call('sweep', args, slot)) as (number | string)[];
        expired += Number(reply[0]);
        budget -= Math.max(1, Number(reply[0]));
        if (Number(reply[1]) === 1) more = true;
        receipts += await this.fileReceipts(reply.slice(2) as string[]);
      }
    }
    return { expired, receipts, more };
  }
}
