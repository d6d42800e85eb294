import { Redis } from 'ioredis';
import { type Notice, PassbyError } from '../../protocol/index.js';
import { DEFAULTS } from '../config/index.js';
import { Args, evalScript, script } from '../redis/index.js';
import type { Logger } from '../telemetry/index.js';
import { ACK_SCRIPT, SEND_SCRIPT } from './batch-scripts.js';
import type {
  AckResult,
  FetchResult,
  MailboxEntry,
  SendInput,
  SendResult,
  ShareInput,
  ShareResult,
  Signal,
  SignalHandler,
  Store,
  StoreLimits,
  SweepResult,
} from './contract.js';
import { ANSWER_SCRIPT, FETCH_SCRIPT, NOTIFY_SCRIPT, SHARE_SCRIPT, SWEEP_SCRIPT } from './scripts.js';

/*
 * Redis layout (prefix `pb:` by default; {uid} is the user's hash tag):
 *
 *   pb:{uid}:pk     string  the public key (identity); the only key left once a mailbox is empty
 *   pb:{uid}:q      zset    entry id -> seq                  mailbox order
 *   pb:{uid}:x      zset    entry id -> exp (ms)             the entries that expire out of order
 *   pb:{uid}:e      hash    entry id -> <flag><seq>:<ts>:<exp>:<body>
 *                           plus counters n (messages), b (message bytes), c (entries, receipts
 *                           included), s (high-water seq since the mailbox was last empty) and
 *                           m (latest exp of an in-order entry since then)
 *   pb:expiry       zset    uid -> earliest expiry in that mailbox (never later than the truth;
 *                           an ack may leave it early, the sweep corrects it when it visits)
 *   pb:{uid}:bell   channel "b<seq>" (doorbell) or "k<conn token>" (kick): no payload, no sender
 *
 * Entry ids are `m:<from>:<mid>` (message) and `r:<to>:<mid>` (receipt); the value's flag is '0'
 * or '1' (message, receipt asked) or 'd' / 'e' (receipt delivered / expired, ts = at).
 * Body and metadata share one hash field, and the counters live in the same hash, so a send is
 * one HMGET (dedupe + quota + highest seq) and one HSET. When the last entry goes, q, x and e are
 * deleted and the user leaves the expiry index: nothing but pk remains.
 *
 * Expiry is per entry, never a key TTL (DESIGN P5). An entry whose exp is no earlier than m is
 * "in order" and is not listed in x: read in q's order, in-order entries expire in order, so the
 * sweep finds them by walking q from its head, and stops at the first entry that is not due (no
 * in-order entry after it can be). Only an entry with a shorter lifetime than one filed before
 * it (and every held share group) has an entry in x. With one lifetime for every message, the
 * common case, x never exists: a send and an ack each touch one sorted set, not two.
 *
 * Each operation is one script, one round trip, atomic. Sends and acks of one event-loop turn
 * share one script call, and inside it a mailbox's sends (or acks) share one run of the commands
 * below: an HMGET of all their entry ids and one ZADD (ZREM, HSET, HDEL) with all of them, so a
 * burst of N messages to one recipient costs about what one does. Commands run per operation
 * alone (cmdstat, measured by test/relay/mailbox/redis.test.ts), besides the EVALSHA itself:
 *   send   HMGET, TIME (seqs come from Redis's clock, shared by all relay nodes), ZADD x2
 *          (q, expiry index), HSET, PUBLISH when bell; + ZADD (x) for an out-of-order expiry,
 *          + EXISTS when the recipient's mailbox is empty
 *   fetch  ZRANGEBYSCORE, HMGET (none when nothing is waiting)
 *   ack    HMGET, ZREM x2, HDEL, HSET; or, for the last entry, HMGET, DEL, ZREM (index)
 *          + HMGET, TIME, ZADD x2, HSET, PUBLISH when it files a receipt
 *
 * Redis Cluster: the keys of one user share a slot, but a send touches the global expiry index,
 * and an ack or sweep that files a receipt writes another user's mailbox, so the scripts span
 * slots. Fine on one Redis (with replicas); a Cluster would need the expiry index sharded per
 * slot (for example pb:expiry:{<slot tag>}) and receipts filed by a second script call, and the
 * doorbell moved to SPUBLISH.
 */

interface Commands {
  pbNotify(...args: string[]): Promise<number>;
  pbShare(...args: (string | Buffer)[]): Promise<string[]>;
  pbAnswer(...args: string[]): Promise<string>;
  pbSweep(...args: string[]): Promise<number[]>;
}

/** Largest number of entries one fetch examines (keeps a script short). */
const MAX_FETCH = 1000;

export async function createRedisStore(options: {
  url: string;
  limits: StoreLimits;
  keyPrefix?: string;
  /** Connection errors are logged here; without it they surface only as failed commands. */
  log?: Logger;
  /** Longest a command may wait for its reply before it fails (DEFAULTS.redisCommandTimeoutMs). */
  commandTimeoutMs?: number;
  /** Hears each connection the store opens, by role (the passby_redis_connected metric). */
  onConnection?: (role: 'command' | 'subscriber', connection: Redis) => void;
  /**
   * Times the message path's operations (SELF_TIMED) per script call, observed once per
   * operation in it: cheaper than a wrapper's closure and promise per operation.
   */
  timing?: (op: (typeof SELF_TIMED)[number]) => (seconds: number) => void;
}): Promise<Store> {
  const { url, limits, log } = options;
  const prefix = options.keyPrefix ?? 'pb:';
  const cmd = new Redis(url, {
    ...failFast(options.commandTimeoutMs),
    enableAutoPipelining: true,
  }) as Redis & Commands;
  // The relay subscribes again itself after a reconnect (below), then re-reads every mailbox.
  const sub = new Redis(url, { ...failFast(options.commandTimeoutMs), autoResubscribe: false });
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
  cmd.defineCommand('pbNotify', { numberOfKeys: 0, lua: NOTIFY_SCRIPT });
  cmd.defineCommand('pbShare', { numberOfKeys: 0, lua: SHARE_SCRIPT });
  cmd.defineCommand('pbAnswer', { numberOfKeys: 0, lua: ANSWER_SCRIPT });
  cmd.defineCommand('pbSweep', { numberOfKeys: 0, lua: SWEEP_SCRIPT });
  try {
    await Promise.all([cmd.connect(), sub.connect()]);
    // Fails start-up on a script Redis cannot compile. (ioredis still sends each script's first
    // call on a connection as EVAL, then EVALSHA, and EVAL again after NOSCRIPT.)
    await Promise.all(
      [SEND_SCRIPT, FETCH_SCRIPT, ACK_SCRIPT, NOTIFY_SCRIPT, SHARE_SCRIPT, ANSWER_SCRIPT, SWEEP_SCRIPT].map(
        (lua) => cmd.script('LOAD', lua),
      ),
    );
  } catch (err) {
    cmd.disconnect();
    sub.disconnect();
    // ioredis rejects with "Connection is closed."; the reason came as an 'error' event. The URL
    // stays out of the message: it may hold a password.
    throw new PassbyError('store_unavailable', 'could not connect to Redis', { cause: lastError ?? err });
  }

  const userKey = (uid: string, suffix: string) => `${prefix}{${uid}}:${suffix}`;
  const channelHead = `${prefix}{`;
  const channelTail = '}:bell';
  let handler: SignalHandler = () => {};

  // Sends and acks issued in one event-loop turn go to Redis as one script call each, with the
  // request built in one buffer (relay/redis/eval.ts); fetches as one call per mailbox. All of
  // a turn's calls leave in one socket write.
  const send = script(SEND_SCRIPT);
  const ack = script(ACK_SCRIPT);
  const fetchScript = script(FETCH_SCRIPT);
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flushTurn);
  };
  function flushTurn(): void {
    scheduled = false;
    const stream = cmd.stream;
    stream?.cork();
    sends.flush();
    acks.flush();
    const due = fetches;
    fetches = [];
    for (const run of due) run();
    stream?.uncork();
  }
  const timing = options.timing;
  const observeFetch = timing?.('fetch');
  const sends = new Batcher<SendInput, SendResult>(schedule, timing?.('send'), undefined, async (batch) => {
    let capacity = 64;
    for (const input of batch) capacity += SEND_ARGS_BYTES + input.body.length;
    const args = new Args(capacity)
      .text(prefix)
      .int(limits.mailboxMaxMessages)
      .int(limits.mailboxMaxBytes)
      .int(batch.length);
    for (const input of batch) {
      args
        .text(input.to)
        .text(`m:${input.from}:${input.mid}`)
        .int(input.now)
        .int(input.ttlMs)
        .text(input.receipt ? '1' : '0')
        .text(input.bell ? '1' : '0')
        .bytes(input.body)
        .text(input.offer ?? '')
        .int(input.holdMs ?? input.ttlMs);
    }
    const reply = ((await evalScript(cmd, send, args, null)) as string).split(',');
    return batch.map((_, i) => sendResult(reply, i * 5));
  });
  const acks = new Batcher<{ uid: string; entryId: string; now: number }, AckResult>(
    schedule,
    timing?.('ack'),
    timing?.('ackAll'),
    async (batch) => {
      const args = new Args(64 + ACK_ARGS_BYTES * batch.length)
        .text(prefix)
        .int(limits.receiptTtlMs)
        .int(batch.length);
      for (const a of batch) args.text(a.uid).text(a.entryId).int(a.now);
      const reply = (await evalScript(cmd, ack, args, null)) as string;
      return batch.map((_, i) => (reply.charCodeAt(i) === 0x31 ? DELETED : GONE));
    },
  );
  // Fetches run at the end of the turn too, each its own call (one mailbox each).
  let fetches: (() => void)[] = [];
  const fetchReply = (args: Args) =>
    new Promise<Buffer[]>((resolve, reject) => {
      fetches.push(() =>
        (evalScript(cmd, fetchScript, args, null, true) as Promise<Buffer[]>).then(resolve, reject),
      );
      schedule();
    });

  sub.on('message', (channel: string, message: string) => {
    const uid = channel.slice(channelHead.length, -channelTail.length);
    const signal = parseSignal(message);
    try {
      if (signal) handler(uid, signal);
    } catch (err) {
      log?.error({ err }, 'signal handler failed');
    }
  });

  // Doorbells published while the subscriber was away are lost: once it is back, subscribe to
  // every watched user again and tell the relay, which re-reads each one's mailbox.
  const watched = new Set<string>();
  // (Listened to after the first connect: every 'ready' from here on is a reconnect.)
  let reconnected: () => void = () => {};
  sub.on('ready', () => void resubscribe());
  async function resubscribe(): Promise<void> {
    try {
      const channels = [...watched].map((uid) => userKey(uid, 'bell'));
      for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH)
        await sub.subscribe(...channels.slice(i, i + RESUBSCRIBE_BATCH));
      log?.info({ users: watched.size }, 'subscriber back: re-reading mailboxes');
    } catch (err) {
      // The connection went again; its next 'ready' tries again. The re-read below still helps.
      log?.warn({ err }, 'resubscribe failed');
    }
    reconnected();
  }

  return {
    kind: 'redis',

    async register(uid, publicKey) {
      await cmd.set(userKey(uid, 'pk'), publicKey);
    },

    publicKeys(uids) {
      // One GET per user (auto-pipelined into one round trip) rather than an MGET across slots.
      return Promise.all(uids.map((uid) => cmd.get(userKey(uid, 'pk'))));
    },

    send(input: SendInput): Promise<SendResult> {
      return sends.push(input);
    },

    async fetch(uid, afterSeq, limit, now): Promise<FetchResult> {
      const count = Math.max(0, Math.min(Math.floor(limit), MAX_FETCH));
      const started = performance.now();
      let reply: Buffer[];
      try {
        reply = await fetchReply(new Args().text(prefix).text(uid).int(afterSeq).int(count).int(now));
      } finally {
        observeFetch?.((performance.now() - started) / 1000);
      }
      const entries: MailboxEntry[] = [];
      for (let i = 2; i + 1 < reply.length; i += 2) {
        entries.push(parseEntry(reply[i]!.toString('latin1'), reply[i + 1]!));
      }
      return { entries, last: Number(reply[0]!.toString('latin1')), more: reply[1]![0] === 0x31 };
    },

    ack(uid, entryId, now): Promise<AckResult> {
      return acks.push({ uid, entryId, now });
    },

    ackAll(uid, entryIds, now): Promise<AckResult[]> {
      return acks.pushAll(entryIds.map((entryId) => ({ uid, entryId, now })));
    },

    async share(input: ShareInput): Promise<ShareResult> {
      const reply = await cmd.pbShare(
        prefix,
        input.to,
        input.from,
        input.mid,
        String(input.now),
        String(input.ttlMs),
        input.receipt ? '1' : '0',
        String(input.parts),
        input.auto ? '1' : '0',
        bytes(input.preview),
      );
      if (reply[0] === 'incomplete') return { status: 'incomplete', held: Number(reply[1]) };
      const result = sendResult([...reply, ''], 0);
      if (result.status !== 'stored') throw new Error(`unexpected share reply ${reply[0]}`);
      return result;
    },

    async answer(uid, entryId, accept, now) {
      const reply = await cmd.pbAnswer(
        prefix,
        uid,
        entryId,
        accept ? '1' : '0',
        String(now),
        String(limits.receiptTtlMs),
      );
      return reply === 'accepted' || reply === 'rejected' ? reply : 'unknown';
    },

    async notify(uid, entryId, notice, now, exp) {
      const filed = await cmd.pbNotify(
        prefix,
        uid,
        entryId,
        String(now),
        String(exp),
        JSON.stringify(notice),
      );
      return filed === 1;
    },

    async sweep(now, limit): Promise<SweepResult> {
      const [expired = 0, receipts = 0, more = 0] = await cmd.pbSweep(
        prefix,
        String(now),
        String(Math.max(0, Math.floor(limit))),
        String(limits.receiptTtlMs),
      );
      return { expired, receipts, more: more === 1 };
    },

    async watch(uid) {
      watched.add(uid);
      try {
        await sub.subscribe(userKey(uid, 'bell'));
      } catch (err) {
        watched.delete(uid);
        throw err;
      }
    },

    async unwatch(uid) {
      watched.delete(uid);
      await sub.unsubscribe(userKey(uid, 'bell'));
    },

    onSignal(next) {
      handler = next;
    },

    onReconnect(next) {
      reconnected = next;
    },

    unsentBytes() {
      return cmd.stream?.writableLength ?? 0;
    },

    async kick(uid, connToken) {
      await cmd.publish(userKey(uid, 'bell'), `k${connToken}`);
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

/**
 * Connection options that make a command fail rather than wait: after `commandTimeoutMs`
 * without a reply, at once while the connection is down (no offline queue), and when the
 * connection drops under it (no re-send after the reconnect: the frame is answered
 * `store_unavailable` and the client retries it, which is idempotent). Nothing piles up in
 * ioredis's queues while Redis is away; what sits in the socket while Redis is frozen is what
 * `unsentBytes` reports.
 */
export function failFast(commandTimeoutMs = DEFAULTS.redisCommandTimeoutMs) {
  return {
    lazyConnect: true,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
  } as const;
}

/** Channels per SUBSCRIBE when the subscriber comes back. */
const RESUBSCRIBE_BATCH = 1_000;

/** A Buffer view of the bytes (ioredis sends only Buffers as bytes); no copy. */
function bytes(b: Uint8Array): Buffer {
  return b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function sendResult(reply: string[], at: number): SendResult {
  switch (reply[at]) {
    case 'stored':
      return {
        status: 'stored',
        dup: false,
        seq: Number(reply[at + 1]),
        prev: Number(reply[at + 2]),
        ts: Number(reply[at + 3]),
        exp: Number(reply[at + 4]),
      };
    case 'dup':
      return {
        status: 'stored',
        dup: true,
        seq: Number(reply[at + 1]),
        prev: 0,
        ts: Number(reply[at + 2]),
        exp: Number(reply[at + 3]),
      };
    case 'unknown':
      return { status: 'unknown_recipient' };
    default:
      return { status: 'quota_exceeded', limit: reply[at + 1] === 'bytes' ? 'bytes' : 'messages' };
  }
}

/** Bytes of a send's arguments besides its body (IDs, numbers, flags, RESP heads), about. */
const SEND_ARGS_BYTES = 160;
/** Bytes of an ack's arguments, about. */
const ACK_ARGS_BYTES = 140;
const DELETED: AckResult = Object.freeze({ deleted: true });
const GONE: AckResult = Object.freeze({ deleted: false });

/** Most operations in one script call: keeps each call short for Redis's single thread. */
const MAX_BATCH = 256;

/** Who waits for a batch's results: one item's (`count` 0) or `count` items' in order. */
interface Waiter {
  count: number;
  resolve: (o: never) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects the operations of one event-loop turn and runs them as one batch (flushed at the end
 * of the turn through `schedule`, or at once when MAX_BATCH is reached). Each caller gets its
 * own result.
 */
class Batcher<I, O> {
  private items: I[] = [];
  private waiters: Waiter[] = [];

  /** `observeOne` / `observeAll`: the script call's seconds, once per push / pushAll it served. */
  constructor(
    private readonly schedule: () => void,
    private readonly observeOne: ((seconds: number) => void) | undefined,
    private readonly observeAll: ((seconds: number) => void) | undefined,
    private readonly run: (items: I[]) => Promise<O[]>,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ count: 0, resolve: resolve as (o: never) => void, reject });
      this.added();
    });
  }

  /** Several items with one promise for all their results (a version 3 `ack {ids}`). */
  pushAll(items: readonly I[]): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      for (const item of items) this.items.push(item);
      this.waiters.push({ count: items.length, resolve: resolve as (o: never) => void, reject });
      this.added();
    });
  }

  private added(): void {
    if (this.items.length >= MAX_BATCH) this.flush();
    else this.schedule();
  }

  flush(): void {
    const items = this.items;
    if (items.length === 0) return;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    const started = performance.now();
    this.run(items).then(
      (results) => {
        this.observe(waiters, started);
        let at = 0;
        for (const w of waiters) {
          if (w.count === 0) (w.resolve as (o: O) => void)(results[at++]!);
          else {
            (w.resolve as (o: O[]) => void)(results.slice(at, at + w.count));
            at += w.count;
          }
        }
      },
      (err: unknown) => {
        this.observe(waiters, started);
        for (const w of waiters) w.reject(err);
      },
    );
  }

  private observe(waiters: readonly Waiter[], started: number): void {
    if (this.observeOne === undefined && this.observeAll === undefined) return;
    const seconds = (performance.now() - started) / 1000;
    for (const w of waiters) (w.count === 0 ? this.observeOne : this.observeAll)?.(seconds);
  }
}

/** The Store methods createRedisStore times itself (options.timing). */
export const SELF_TIMED = ['send', 'ack', 'ackAll', 'fetch'] as const;

/**
 * QUIT is queued behind the commands under way, so their replies arrive first. A connection that
 * is not up (Redis unreachable) is dropped instead: QUIT would wait in the offline queue.
 */
async function release(connection: Redis): Promise<void> {
  if (connection.status === 'ready') await connection.quit();
  else connection.disconnect();
}

function parseSignal(message: string): Signal | null {
  if (message.startsWith('b')) {
    const seq = Number(message.slice(1));
    return Number.isSafeInteger(seq) ? { type: 'bell', seq } : null;
  }
  if (message.startsWith('k')) return { type: 'kick', conn: message.slice(1) };
  return null;
}

/** Decodes one stored value: <flag><seq>:<ts>:<exp>:<body> (see the layout above). */
function parseEntry(id: string, value: Buffer): MailboxEntry {
  const flag = value[0];
  const c1 = value.indexOf(0x3a, 1);
  const c2 = value.indexOf(0x3a, c1 + 1);
  const c3 = value.indexOf(0x3a, c2 + 1);
  const seq = Number(value.toString('latin1', 1, c1));
  const ts = Number(value.toString('latin1', c1 + 1, c2));
  const exp = Number(value.toString('latin1', c2 + 1, c3));
  const split = id.indexOf(':', 2);
  const who = id.slice(2, split);
  const mid = id.slice(split + 1);
  if (flag === 0x6e) {
    const notice = JSON.parse(value.toString('utf8', c3 + 1)) as Notice;
    return { kind: 'notice', id, seq, ts, exp, notice };
  }
  if (flag === 0x6f || flag === 0x4f || flag === 0x61 || flag === 0x41) {
    // An offer: <parts>:<preview>
    const c4 = value.indexOf(0x3a, c3 + 1);
    const parts = Number(value.toString('latin1', c3 + 1, c4));
    const preview = new Uint8Array(value.buffer, value.byteOffset + c4 + 1, value.length - c4 - 1);
    return {
      kind: 'offer',
      id,
      seq,
      from: who,
      mid,
      ts,
      exp,
      parts,
      auto: flag === 0x61 || flag === 0x41,
      preview,
    };
  }
  if (id.startsWith('r:')) {
    const status = flag === 0x65 ? 'expired' : flag === 0x6a ? 'rejected' : 'delivered';
    return { kind: 'receipt', id, seq, to: who, mid, status, at: ts, exp };
  }
  // A view, not a copy; a plain Uint8Array so it compares equal to what was sent.
  const body = new Uint8Array(value.buffer, value.byteOffset + c3 + 1, value.length - c3 - 1);
  return { kind: 'msg', id, seq, from: who, mid, ts, exp, body };
}
