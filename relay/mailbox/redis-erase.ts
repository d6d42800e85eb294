import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/index.js';
import type { MailboxSummary } from './contract.js';
import { expiryShard, ownMailboxKeys, parseNote } from './keys.js';
import type { MailboxCalls } from './redis-calls.js';
import { inlineContent, parseEntry } from './redis-values.js';
import { countEntry, countHeld, emptySummary } from './summary.js';

/*
 * The Redis store's part of export and erase (relay/account calls them). Erase finds what names a
 * user in other mailboxes by reading the keyspace once: SCAN on every primary (one node on a
 * standalone server) for the mailbox hashes `<prefix>{*}:e` and `:h` and the expiry shards, HSCAN
 * MATCH of each hash for the uids' fields, ZSCAN of each shard for receipt notes. Whatever it
 * finds in a mailbox goes through that mailbox's own remove rule (lua/forget.lua), so its
 * counters, indexes and ack masks stay right. Each step is idempotent: a pass cut short is run
 * again from the start.
 */

const SCAN_COUNT = 1000;

/** The primaries: each node's client on a Cluster, the one client on a standalone server. */
function primaries(cmd: RedisClient): RedisClient[] {
  return cmd instanceof Cluster ? cmd.nodes('master') : [cmd];
}

/** A glob pattern matching `text` literally. */
function literal(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Every key on every primary matching `pattern`. */
async function scanKeys(cmd: RedisClient, pattern: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of primaries(cmd)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
  }
  return out;
}

/** The fields (or members) of hash (or zset) `key` matching `pattern`. */
async function scanFields(cmd: RedisClient, kind: 'hscan' | 'zscan', key: string, pattern: string) {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await cmd[kind](key, cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (let i = 0; i < page.length; i += 2) out.push(page[i]!);
  } while (cursor !== '0');
  return out;
}

/** Bytes of an entry's content: a message's or copy's body, an offer's preview. */
export class MailboxErase {
  constructor(
    private readonly cmd: RedisClient,
    private readonly prefix: string,
    private readonly mc: MailboxCalls,
  ) {}

  /** The expiry shards that exist: the one of a standalone server, those SCAN finds on a Cluster. */
  private async shards(): Promise<string[]> {
    if (!(this.cmd instanceof Cluster)) return [expiryShard(this.prefix, 0)];
    return scanKeys(this.cmd, `${literal(`${this.prefix}expiry:`)}{*}`);
  }

  async summary(uid: string, slots: readonly number[], now: number): Promise<MailboxSummary> {
    const [e, h] = ownMailboxKeys(this.prefix, uid).filter((_, i) => i === 0 || i === 3) as [string, string];
    const [entries, held] = await Promise.all([this.cmd.hgetallBuffer(e), this.cmd.hgetallBuffer(h)]);
    const out = emptySummary(slots);
    for (const [id, value] of Object.entries(entries)) {
      if (!/^[mrnc]:/.test(id)) continue;
      const entry = parseEntry(id, value, entries[`b:${id}`] ?? inlineContent(value));
      if (entry.exp <= now) continue;
      countEntry(out, entry, Number(entries[`a:${id}`]?.toString('latin1') ?? 0));
    }
    for (const [field, value] of Object.entries(held)) {
      if (!field.startsWith('p:')) continue;
      // <flag><order>:<ts>:<exp>:<body> (lua/mailbox.lua held_header)
      const c1 = value.indexOf(0x3a);
      const c2 = value.indexOf(0x3a, c1 + 1);
      const c3 = value.indexOf(0x3a, c2 + 1);
      const exp = Number(value.toString('latin1', c2 + 1, c3));
      if (exp > now) countHeld(out, value.length - c3 - 1, exp);
    }
    // Receipts on their way to uid: noted in a recipient's shard, not filed yet.
    for (const shard of await this.shards()) {
      out.receipts += (await scanFields(this.cmd, 'zscan', shard, `r ${uid} *`)).length;
    }
    return out;
  }

  async forget(uids: readonly string[]): Promise<void> {
    const { cmd, prefix, mc } = this;
    const gone = new Set(uids);
    if (gone.size === 0) return;
    // Their own mailboxes and index members (pk and d are relay/account's).
    await Promise.all(
      [...gone].map((uid) =>
        Promise.all([
          cmd.del(...ownMailboxKeys(prefix, uid)),
          cmd.zrem(expiryShard(prefix, mc.slotOfUser(uid)), uid),
        ]),
      ),
    );
    // Every other mailbox: the entries and held groups naming them.
    const owners = new Set<string>();
    const tag = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\{([^}]+)\\}:[eh]$`);
    for (const key of await scanKeys(cmd, `${literal(prefix)}{*}:[eh]`)) {
      const owner = tag.exec(key)?.[1];
      if (owner !== undefined && !gone.has(owner)) owners.add(owner);
    }
    for (const owner of owners) {
      const [e, , , h] = ownMailboxKeys(prefix, owner) as [string, string, string, string];
      const ids: string[] = [];
      const groups = new Set<string>();
      for (const uid of gone) {
        ids.push(...(await scanFields(cmd, 'hscan', e, `?:${literal(uid)}:*`)));
        for (const field of await scanFields(cmd, 'hscan', h, `?:${literal(uid)}:*`)) {
          // g:<from>:<share> or p:<from>:<share>:<mid>: the group <from>:<share>.
          const [, from, share] = field.split(':');
          groups.add(`${from}:${share}`);
        }
      }
      if (ids.length > 0 || groups.size > 0) await mc.removeEntries(owner, ids, [...groups]);
    }
    // Receipt notes naming them, as sender or as recipient.
    for (const shard of await this.shards()) {
      const notes = (await scanFields(cmd, 'zscan', shard, 'r *')).filter((member) => {
        const note = parseNote(member);
        return note !== null && (gone.has(note.from) || gone.has(note.recipient));
      });
      if (notes.length > 0) await cmd.zrem(shard, ...notes);
    }
  }
}
