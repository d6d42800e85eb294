import { Cluster } from 'ioredis';
import { PassbyError } from '../../protocol/index.js';
import {
  Args,
  Batcher,
  connectRedis,
  leases,
  type RedisClient,
  type RedisEndpoint,
  release,
  serverConnections,
  unsentBytes,
} from '../redis/index.js';
import type { Logger } from '../telemetry/index.js';
import type {
  AckResult,
  FetchResult,
  MailboxEntry,
  SendInput,
  SendResult,
  ShareInput,
  ShareResult,
  Store,
  StoreLimits,
} from './contract.js';
import { publicKeyKey } from './keys.js';
import { type AckItem, runAcks, runSends } from './redis-batches.js';
import { MailboxCalls, RECEIPT_GRACE_MS, SCRIPTS } from './redis-calls.js';
import { MailboxErase } from './redis-erase.js';
import { redisSignalBus } from './redis-signals.js';
import { parseEntry, sendResult } from './redis-values.js';

/*
 * Redis layout (prefix `pb:` by default; {uid} is the user's hash tag, so a user's keys share a
 * slot; {T(s)} is a tag that hashes to slot s, relay/redis/slots.ts):
 *
 *   pb:{uid}:pk        string  the public key (identity); the only key left once a mailbox is empty
 *   pb:{uid}:q         zset    entry id -> seq                  mailbox order
 *   pb:{uid}:x         zset    entry id -> exp (ms)             the entries that expire out of order
 *   pb:{uid}:e         hash    entry id -> its header <flag><seq>:<ts>:<exp>:<bytes>, and
 *                              b:<entry id> -> its content of that many bytes (none when 0):
 *                              written from the script's argument and read only by a fetch (or
 *                              an export), never by an ack, a sweep or a receipt (a body read into
 *                              Lua costs Redis a hash of every byte);
 *                              plus counters n (messages), b (message bytes), c (entries, receipts
 *                              included), s (high-water seq since the mailbox was last empty),
 *                              m (latest exp of an in-order entry since then) and i (what the
 *                              expiry shard holds for this mailbox: a write that cannot lower it
 *                              skips the shard); and a:<entry id> -> the entry's ack mask (bit s:
 *                              device slot s acked it; bit 16: its delivered receipt was filed;
 *                              absent: nobody acked it), deleted with the entry
 *   pb:{uid}:d         hash    the device registry, relay/account's: the mailbox reads only its
 *                              field m, the live device mask (absent or 0: one legacy device,
 *                              slot 0), in ack, dropDevice and sends with a copy
 *   pb:{uid}:h         hash    held parts of shares: p:<from>:<share>:<mid> -> part, and
 *                              g:<from>:<share> -> parts held
 *   pb:{uid}:bell      channel "b<seq>" (doorbell) or "k<conn token>" (kick), SPUBLISH: no payload
 *   pb:expiry:{T(s)}   zset    the index shard of slot s: uid -> earliest expiry in that mailbox
 *                              (never later than the truth; an ack may leave it early, the sweep
 *                              corrects it when it visits), and receipt notes (below) -> due time
 *   pb:sweep:{T(s)}:mailbox:<node>  string  the lease of the relay sweeping that Redis node (s: its first slot)
 *
 * Entry ids: m:<from>:<mid> (a message or offer), r:<to>:<mid> (a receipt), n:<user>:<tag> (a
 * notice), c:<to>:<mid> (a copy of what uid sent, for its other devices: flag 'c', no quota).
 *
 * Every script touches one slot and gets its keys as KEYS (lua/mailbox.lua: 8 per mailbox).
 * Sends and acks of one event-loop turn are grouped per slot on a Cluster (one call per slot, all
 * of a turn's calls pipelined per node) and go as one call on a standalone server, where every
 * slot lives. Inside a call, a mailbox's sends (or acks) share one run of their commands: one
 * HMGET of all their entry ids and one ZADD (ZREM, HSET, HDEL) with all of them.
 *
 * Writes that cross users are second steps. A receipt (delivered, rejected, expired) belongs in
 * the sender's mailbox, another slot: the ack, answer or sweep notes it in the recipient's slot's
 * shard, "r <from> <receipt id> <flag><at>", due 30 s later, atomically with the delete; the relay
 * then files it in the sender's mailbox (lua/receipts.lua, idempotent: a receipt already there is
 * kept) and removes the note. A relay that dies between the two leaves the note, and the sweep
 * files it once it is due. The one way a receipt reaches its sender twice: the sender acked it
 * between a filing and a failed removal of its note.
 *
 * Expiry is per entry, never a key TTL (DESIGN P5). An entry whose exp is no earlier than m is
 * "in order" and is not listed in x: read in q's order, in-order entries expire in order, so the
 * sweep finds them by walking q from its head, and stops at the first entry that is not due. Only
 * an entry with a shorter lifetime than one filed before it (and every held share group) has an
 * entry in x. The sweep reads the shards node by node (the slots each primary serves now), each
 * node under a lease that one relay holds at a time: after a failover or a reshard the next sweep
 * reads the new owner of every slot, and a relay that died passes its lease on when it runs out.
 *
 * Commands per operation alone (cmdstat, measured by test/relay/mailbox/redis.test.ts), besides
 * the EVALSHA itself:
 *   send   HMGET, TIME, ZADD (q), HSET, SPUBLISH when bell; + ZADD (shard) into an empty
 *          mailbox or for an expiry earlier than i, + ZADD (x) for an out-of-order expiry,
 *          + EXISTS when the recipient's mailbox is empty
 *   fetch  ZRANGEBYSCORE, HMGET (none when nothing is waiting; the HMGET reads the ack masks and
 *          the contents too)
 *   newer  one ZRANGEBYSCORE LIMIT 1 on q per mailbox probed (probe.lua: the safety pull's check)
 *   ack    HMGET, HGET (the live mask), HSET, ZREM x2, HDEL; or, for the last entry, HMGET,
 *          HGET, DEL, ZREM (shard); an ack that only clears a device's claim HMGET, HGET, HSET
 *          + for a receipt: ZADD (note) here, then EVALSHA (HMGET, TIME, ZADD x2, HSET,
 *          SPUBLISH) in the sender's slot and ZREM (the note)
 *
 * Durability: a send is confirmed once its primary has it; with `waitReplicas` (Redis WAIT) once
 * that many replicas have it too, so a failover to one of them loses nothing confirmed.
 */

/** Largest number of entries one fetch examines (keeps a script short). */
const MAX_FETCH = 1000;

export interface RedisStoreOptions {
  /** A standalone server's URL; or `endpoint`. */
  url?: string;
  /** Where Redis is: a standalone server or a Cluster's seed nodes (relay/redis/connection.ts). */
  endpoint?: RedisEndpoint;
  limits: StoreLimits;
  keyPrefix?: string;
  /** Connection errors are logged here; without it they surface only as failed commands. */
  log?: Logger;
  /** Longest a command may wait for its reply before it fails (DEFAULTS.redisCommandTimeoutMs). */
  commandTimeoutMs?: number;
  /** Replicas that must hold a send before it is confirmed (Redis WAIT); 0 by default. */
  waitReplicas?: number;
  /** Longest a send waits for them before it fails with store_unavailable (the client retries). */
  waitTimeoutMs?: number;
  /** How long a relay's hold on sweeping one Redis node lasts unless renewed (10 s). */
  sweepLeaseMs?: number;
  /**
   * How often the sweep reads again an index shard it believes holds nothing due (relay/redis/
   * shards.ts ShardWatch): an entry another relay filed expires up to this late (10 s).
   */
  shardRefreshMs?: number;
  /** Hears each connection the store opens, by role (the passby_redis_connected metric). */
  onConnection?: (role: 'command' | 'subscriber', connection: RedisClient) => void;
  /**
   * Times the message path's operations (SELF_TIMED) per script call, observed once per
   * operation in it: cheaper than a wrapper's closure and promise per operation.
   */
  timing?: (op: (typeof SELF_TIMED)[number]) => (seconds: number) => void;
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const { limits, log } = options;
  const endpoint = options.endpoint ?? { urls: [options.url ?? 'redis://127.0.0.1:6379'], cluster: false };
  const prefix = options.keyPrefix ?? 'pb:';
  const commandTimeoutMs = options.commandTimeoutMs;
  const waitReplicas = options.waitReplicas ?? 0;
  const waitTimeoutMs = options.waitTimeoutMs ?? 1_000;
  const cmd = connectRedis(endpoint, { commandTimeoutMs, autoPipelining: true });
  const sub = connectRedis(endpoint, { commandTimeoutMs, subscriber: true });
  const _clustered = cmd instanceof Cluster;
  let lastError: Error | undefined;
  for (const [role, connection] of [
    ['command', cmd],
    ['subscriber', sub],
  ] as const) {
    options.onConnection?.(role, connection);
    connection.on('error', (err: Error) => {
      lastError = err;
      log?.warn({ err, role }, 'redis connection error');
    });
  }
  try {
    await Promise.all([cmd.connect(), sub.connect()]);
    // Fails start-up on a script Redis cannot compile. (Each call is EVALSHA, and EVAL once
    // after NOSCRIPT: a node that lost its cache, a replica promoted, a node added.)
    await Promise.all(Object.values(SCRIPTS).map((s) => cmd.script('LOAD', s.lua)));
  } catch (err) {
    cmd.disconnect();
    sub.disconnect();
    // ioredis rejects with "Connection is closed."; the reason came as an 'error' event. The URL
    // stays out of the message: it may hold a password.
    throw new PassbyError('store_unavailable', 'could not connect to Redis', { cause: lastError ?? err });
  }

  const mc = new MailboxCalls(
    cmd,
    prefix,
    limits,
    { replicas: waitReplicas, timeoutMs: waitTimeoutMs },
    options.shardRefreshMs ?? 10_000,
  );

  // Sends and acks issued in one event-loop turn go to Redis as one script call each per slot,
  // with the request built in one buffer (relay/redis/eval.ts); fetches as one call per mailbox.
  // All of a turn's calls leave in one socket write per node.
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flushTurn);
  };
  function flushTurn(): void {
    scheduled = false;
    const streams = serverConnections(cmd).map((c) => c.stream);
    for (const stream of streams) stream?.cork();
    sends.flush();
    acks.flush();
    const due = fetches;
    fetches = [];
    for (const run of due) run();
    for (const stream of streams) stream?.uncork();
  }
  const timing = options.timing;
  const observeFetch = timing?.('fetch');
  const sends = new Batcher<SendInput, SendResult>((batch) => runSends(mc, batch), {
    schedule,
    observeOne: timing?.('send'),
    weigh: (input) => input.body.length,
  });
  const acks = new Batcher<AckItem, AckResult>((batch) => runAcks(mc, log, batch), {
    schedule,
    observeOne: timing?.('ack'),
    observeAll: timing?.('ackAll'),
  });
  const erase = new MailboxErase(cmd, prefix, mc);
  // Fetches run at the end of the turn too, each its own call (one mailbox each).
  let fetches: (() => void)[] = [];
  const fetchReply = (slot: number, args: Args) =>
    new Promise<Buffer[]>((resolve, reject) => {
      fetches.push(() => (mc.call('fetch', args, slot, true) as Promise<Buffer[]>).then(resolve, reject));
      schedule();
    });

  const sweepLeaseMs = options.sweepLeaseMs ?? 10_000;
  const lease = leases(cmd);

  const signals = redisSignalBus(cmd, sub, prefix, log);

  return {
    kind: 'redis',

    async register(uid, publicKey) {
      await cmd.set(publicKeyKey(prefix, uid), publicKey);
    },

    publicKeys(uids) {
      // One GET per user (auto-pipelined into one round trip) rather than an MGET across slots.
      return Promise.all(uids.map((uid) => cmd.get(publicKeyKey(prefix, uid))));
    },

    send(input: SendInput): Promise<SendResult> {
      return sends.push(input);
    },

    async fetch(uid, slot, afterSeq, limit, now): Promise<FetchResult> {
      const count = Math.max(0, Math.min(Math.floor(limit), MAX_FETCH));
      const started = performance.now();
      let reply: Buffer[];
      try {
        const args = new Args();
        const at = mc.slotOfUser(uid);
        mc.mailboxes(args, [uid], at);
        reply = await fetchReply(at, args.int(afterSeq).int(count).int(now).int(slot));
      } finally {
        observeFetch?.((performance.now() - started) / 1000);
      }
      const entries: MailboxEntry[] = [];
      for (let i = 2; i + 2 < reply.length; i += 3) {
        entries.push(parseEntry(reply[i]!.toString('latin1'), reply[i + 1]!, reply[i + 2]!));
      }
      return { entries, last: Number(reply[0]!.toString('latin1')), more: reply[1]![0] === 0x31 };
    },

    newer: (probes) => mc.newer(probes),

    ack(uid, slot, entryId, now): Promise<AckResult> {
      return acks.push({ uid, slot, entryId, now });
    },

    ackAll(uid, slot, entryIds, now): Promise<AckResult[]> {
      return acks.pushAll(entryIds.map((entryId) => ({ uid, slot, entryId, now })));
    },

    dropDevice: (uid, slot, now) => mc.dropDevice(uid, slot, now),

    summary: (uid, slots, now) => erase.summary(uid, slots, now),

    forget: (uids) => erase.forget(uids),

    async share(input: ShareInput): Promise<ShareResult> {
      const args = new Args(256 + input.preview.length);
      const slot = mc.slotOfUser(input.to);
      mc.mailboxes(args, [input.to], slot);
      args
        .text(input.to)
        .text(input.from)
        .text(input.mid)
        .int(input.now)
        .int(input.ttlMs)
        .text(input.receipt ? '1' : '0')
        .int(input.parts)
        .text(input.auto ? '1' : '0')
        .bytes(input.preview);
      const reply = (await mc.call('share', args, slot)) as string[];
      if (reply[0] === 'incomplete') return { status: 'incomplete', held: Number(reply[1]) };
      await mc.replicated(slot);
      const result = sendResult([...reply, ''], 0);
      if (result.status !== 'stored') throw new Error(`unexpected share reply ${reply[0]}`);
      mc.noteDue(slot, result.exp);
      return result;
    },

    async answer(uid, entryId, accept, now) {
      const args = new Args();
      const slot = mc.slotOfUser(uid);
      mc.mailboxes(args, [uid], slot);
      args
        .text(uid)
        .text(entryId)
        .text(accept ? '1' : '0')
        .int(now);
      const [outcome, ...notes] = (await mc.call('answer', args, slot)) as string[];
      if (notes.length > 0) {
        mc.noteDue(slot, now + RECEIPT_GRACE_MS);
        await mc.fileReceipts(notes);
      }
      return outcome === 'accepted' || outcome === 'rejected' ? outcome : 'unknown';
    },

    async notify(uid, entryId, notice, now, exp) {
      const args = new Args();
      const slot = mc.slotOfUser(uid);
      mc.mailboxes(args, [uid], slot);
      args.text(uid).text(entryId).int(now).int(exp).text(JSON.stringify(notice));
      const added = (await mc.call('notify', args, slot)) === 1;
      if (added) mc.noteDue(slot, exp);
      return added;
    },

    sweep: (now, limit) => mc.sweep(now, limit, lease, sweepLeaseMs),

    watch: signals.watch,
    unwatch: signals.unwatch,
    onSignal: signals.onSignal,
    onReceipts(next) {
      mc.receiptsFiled = next;
    },
    onReconnect: signals.onReconnect,
    kick: signals.kick,

    unsentBytes() {
      return unsentBytes(cmd);
    },

    async healthy() {
      if (cmd.status !== 'ready' || sub.status !== 'ready') return false;
      try {
        return (await cmd.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      await Promise.all([release(cmd), release(sub)]);
    },
  };
}

/** The Store methods createRedisStore times itself (options.timing). */
export const SELF_TIMED = ['send', 'ack', 'ackAll', 'fetch'] as const;
