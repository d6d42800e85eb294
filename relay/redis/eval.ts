import { createHash } from 'node:crypto';
import { Cluster, Command, type Redis } from 'ioredis';
import { primaryByKey, type RedisClient } from './connection.js';
import { slotOf } from './slots.js';

/*
 * EVALSHA for the relay's per-turn batches, with the request's bytes (RESP) built in one Buffer
 * as the arguments are added (Args), but for large bytes arguments, which go beside it uncopied.
 * ioredis builds a request argument by argument (a string per argument, a copy of the argument
 * list at each of several layers, then a copy of everything into one buffer), which was the
 * largest single source of garbage in the relay: a batch of 150 sends is 1,200 arguments. The
 * reply is still read by ioredis, and a command waiting for a reconnect is written then.
 */

/** A script the relay runs with evalScript: its text and its SHA1, computed once. */
export interface Script {
  /** The file's name without `.lua` (relay/redis/lua.ts). */
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

export function script(lua: string, name = 'inline'): Script {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * A command whose bytes are ready; ioredis writes them as they are. `slot` routes it on a
 * Cluster (ioredis reads the slot of a command from its keys, and this one shows it none).
 */
export class PreparedCommand extends Command {
  constructor(
    name: string,
    private readonly bytes: Buffer | readonly Uint8Array[],
    binary: boolean,
    slot: number | null,
  ) {
    super(name, [], { replyEncoding: binary ? null : 'utf8' });
    if (slot !== null) (this as unknown as { slot: number }).slot = slot;
  }

  /**
   * The request's bytes, which ioredis writes to `socket` (the connection's) at once. A request in
   * parts (large bodies by reference, Args) writes all but its last part itself, in order, with
   * the socket corked until the callbacks queued on process.nextTick have run, so that the parts
   * leave in one writev with whatever else this callback writes, and hands ioredis the last.
   */
  override toWritable(socket: object): Buffer {
    const bytes = this.bytes;
    if (Buffer.isBuffer(bytes)) return bytes;
    // The last part is always a slice of the request's own buffer (Args.requestParts).
    if (bytes.length === 1) return bytes[0] as Buffer;
    const stream = socket as Partial<CorkableStream> | undefined;
    if (typeof stream?.cork !== 'function') return Buffer.concat(bytes);
    const corked = stream as CorkableStream;
    corked.cork();
    process.nextTick(uncork, corked);
    for (let i = 0; i < bytes.length - 1; i++) corked.write(bytes[i]!);
    return bytes[bytes.length - 1] as Buffer;
  }
}

/** The part of a socket PreparedCommand writes a request in parts to. */
interface CorkableStream {
  cork(): void;
  uncork(): void;
  write(b: Uint8Array): boolean;
}

function uncork(stream: CorkableStream): void {
  stream.uncork();
}

/**
 * Bytes arguments of at least this many bytes (a photo's body, a 4 KiB message's) are not copied
 * into the request's buffer but written beside it (PreparedCommand): Redis reads the same bytes,
 * and the relay spares a copy of each and the memory the copies take, which its garbage collector
 * would chase (relay/connection/replies.ts LARGE_BODY has the figures).
 */
export const LARGE_ARGUMENT = 2 * 1024;

/** Bytes an Args copies into its own buffer for a bytes argument of `b` (none when large). */
export function copiedBytes(b: Uint8Array): number {
  return b.length >= LARGE_ARGUMENT ? 0 : b.length;
}

/**
 * A script call's keys and arguments (KEYS, then ARGV: `endKeys()` marks where the keys end),
 * written as RESP bulk strings straight into one growing buffer
 * as they are added: a number without a string for it, short ASCII text without a native call
 * per argument (Buffer.byteLength and Buffer.write cost more than the bytes they move), and bytes
 * copied once, or not at all from LARGE_ARGUMENT on: those are kept by reference and must not
 * change until the request is written. The request's head (command, script, numkeys) goes in
 * front of them at the end.
 */
export class Args {
  private out: Buffer;
  private at = HEAD_ROOM;
  private count = 0;
  private keyCount = 0;
  /**
   * With large bytes arguments: the request so far, ending with the last such argument, whose
   * bytes are a part of their own (the parts before are slices of `out`, up to `from`).
   */
  private parts: Uint8Array[] | undefined;
  private from = HEAD_ROOM;

  /** `capacity`: the bytes the arguments are expected to take (the buffer grows past it). */
  constructor(capacity = 256) {
    this.out = Buffer.allocUnsafe(HEAD_ROOM + capacity);
  }

  text(s: string): this {
    const length = s.length;
    // Room for the longest header of a short text and for the text as ASCII.
    if (length <= SHORT_TEXT) {
      this.room(BULK_HEAD + length + CRLF_LENGTH);
      const out = this.out;
      const start = this.at;
      const at = writeHead(out, start, length);
      for (let i = 0; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) return this.utf8(s, start);
        out[at + i] = c;
      }
      return this.added(at + length);
    }
    return this.utf8(s, this.at);
  }

  /** A non-negative integer, in decimal. */
  int(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a non-negative integer: ${n}`);
    const length = decimalLength(n);
    this.room(BULK_HEAD + length + CRLF_LENGTH);
    return this.added(writeDecimal(this.out, writeHead(this.out, this.at, length), n));
  }

  bytes(b: Uint8Array): this {
    if (b.length >= LARGE_ARGUMENT) return this.large(b);
    this.room(BULK_HEAD + b.length + CRLF_LENGTH);
    const at = writeHead(this.out, this.at, b.length);
    this.out.set(b, at);
    return this.added(at + b.length);
  }

  /** A bytes argument written as a part of its own, between its head and its CRLF in `out`. */
  private large(b: Uint8Array): this {
    this.room(BULK_HEAD + CRLF_LENGTH);
    const at = writeHead(this.out, this.at, b.length);
    this.parts ??= [];
    this.parts.push(this.out.subarray(this.from, at), b);
    this.from = at;
    return this.added(at);
  }

  /** Everything added so far is a key (KEYS); what follows is ARGV. */
  endKeys(): this {
    this.keyCount = this.count;
    return this;
  }

  /** The whole request: `name` (evalsha or eval), `body` (the SHA1 or the script), numkeys. */
  request(name: string, body: string): Buffer {
    const parts = this.requestParts(name, body);
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /**
   * The same request as the buffers to write in order: one, or with large bytes arguments the
   * runs of the request between them and each of them as it was given.
   */
  requestParts(name: string, body: string): Uint8Array[] {
    const head = Buffer.from(
      `*${this.count + 3}\r\n${bulk(name)}${bulk(body)}${bulk(String(this.keyCount))}`,
    );
    if (this.parts !== undefined) return [head, ...this.parts, this.out.subarray(this.from, this.at)];
    const args = this.out.subarray(HEAD_ROOM, this.at);
    if (head.length > HEAD_ROOM) return [Buffer.concat([head, args])];
    const start = HEAD_ROOM - head.length;
    head.copy(this.out, start);
    return [this.out.subarray(start, this.at)];
  }

  private utf8(s: string, start: number): this {
    const length = Buffer.byteLength(s);
    this.at = start;
    this.room(BULK_HEAD + length + CRLF_LENGTH);
    const at = writeHead(this.out, start, length);
    this.out.write(s, at, length, 'utf8');
    return this.added(at + length);
  }

  /** Ends the argument whose bytes end at `end`. */
  private added(end: number): this {
    this.at = crlf(this.out, end);
    this.count++;
    return this;
  }

  /** Grows `out` (at the same offsets; the bytes before `from` are parts already and stay where they are). */
  private room(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.at + bytes));
    this.out.copy(grown, this.from, this.from, this.at);
    if (this.parts === undefined) this.out.copy(grown, 0, 0, this.from);
    this.out = grown;
  }
}

/** Bytes kept free in front of the arguments for the request's head with an SHA1. */
const HEAD_ROOM = 96;
/** Texts up to this many characters are written by the ASCII loop. */
const SHORT_TEXT = 128;
/** '$', up to 16 digits of length, CRLF. */
const BULK_HEAD = 19;
const CRLF_LENGTH = 2;

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

/**
 * Runs `s` with `args` (its KEYS, then ARGV); bulk strings in the reply come as strings, or as
 * Buffers when `binary`. `slot` is the slot of every key (a Cluster routes the call by it; null on
 * a standalone server). Redis may have lost its script cache (a restart, a failover to a replica,
 * a node added): then the same call goes again as EVAL with the script's text, which caches it.
 */
export async function evalScript(
  redis: RedisClient,
  s: Script,
  args: Args,
  slot: number | null,
  binary = false,
): Promise<unknown> {
  try {
    return await send(
      redis,
      () => new PreparedCommand('evalsha', args.requestParts('evalsha', s.sha), binary, slot),
      slot,
    );
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return send(
      redis,
      () => new PreparedCommand('eval', args.requestParts('eval', s.lua), binary, slot),
      slot,
    );
  }
}

/**
 * On a Cluster, a command goes straight to the primary that ioredis's slot table names for its
 * slot: ioredis's own routing (a closure and a rejection wrapper per command, to follow
 * redirections) was most of the cluster path's extra relay CPU per message (bench/RESULTS.md,
 * scale-out). What that path is for is kept: a command the node answers with MOVED, ASK, TRYAGAIN
 * or CLUSTERDOWN was not run, so it goes again through the Cluster, which follows the redirection
 * (and the slot table is read again); so does one whose node is unknown or not connected.
 */
function send(redis: RedisClient, make: () => PreparedCommand, slot: number | null): Promise<unknown> {
  const routed = (client: RedisClient) => client.sendCommand(make()) as Promise<unknown>;
  if (!(redis instanceof Cluster) || slot === null) return routed(redis);
  const node = primaryOf(redis, slot);
  if (node === undefined) return routed(redis);
  return routed(node).catch((err: unknown) => {
    if (!(err instanceof Error) || !REDIRECTED.test(err.message)) throw err;
    redis.refreshSlotsCache();
    return routed(redis);
  });
}

const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /;

/** Each Cluster's primaries by node key ("host:port"), forgotten whenever its topology changes. */
const primaries = new WeakMap<Cluster, Map<string, Redis>>();

function primaryOf(cluster: Cluster, slot: number): Redis | undefined {
  const key = cluster.slots[slot]?.[0];
  if (key === undefined) return undefined;
  let known = primaries.get(cluster);
  if (known === undefined) {
    const byKey = new Map<string, Redis>();
    for (const event of ['refresh', '+node', '-node']) cluster.on(event, () => byKey.clear());
    primaries.set(cluster, byKey);
    known = byKey;
  }
  let node = known.get(key);
  if (node === undefined) {
    node = primaryByKey(cluster, key);
    if (node === undefined) return undefined;
    known.set(key, node);
  }
  return node.status === 'ready' ? node : undefined;
}

/*
 * Decimal digits of a safe integer in int32 arithmetic: below 1e9 directly, above it as the
 * part above 1e9 and then nine digits (a 13-digit time in milliseconds, say), rather than a
 * floating-point division per digit.
 */
function decimalLength(n: number): number {
  if (n >= 1e9) return 9 + decimalLength(Math.floor(n / 1e9));
  let length = 1;
  for (let m = n | 0; m >= 10; m = (m / 10) | 0) length++;
  return length;
}

/** Writes the decimal digits of the safe non-negative integer `n` at `at`; returns the end. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  if (n >= 1e9) {
    const high = Math.floor(n / 1e9);
    at = writeDecimal(out, at, high);
    let low = (n - high * 1e9) | 0;
    for (let i = at + 8; i >= at; i--) {
      const q = (low / 10) | 0;
      out[i] = 0x30 + low - q * 10;
      low = q;
    }
    return at + 9;
  }
  let m = n | 0;
  const end = at + decimalLength(m);
  for (let i = end - 1; i >= at; i--) {
    const q = (m / 10) | 0;
    out[i] = 0x30 + m - q * 10;
    m = q;
  }
  return end;
}

/** Writes '$', the decimal `length` and CRLF at `at`; returns the offset after them. */
function writeHead(out: Buffer, at: number, length: number): number {
  out[at] = 0x24; // '$'
  return crlf(out, writeDecimal(out, at + 1, length));
}

function crlf(out: Buffer, at: number): number {
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + CRLF_LENGTH;
}

/** Runs script `s` with `keys` (all of one slot) and `argv`; integers go as decimal text. */
export function runScript(
  redis: RedisClient,
  s: Script,
  keys: readonly string[],
  argv: readonly (string | number)[],
): Promise<unknown> {
  const args = new Args();
  for (const key of keys) args.text(key);
  args.endKeys();
  for (const a of argv) {
    if (typeof a === 'number') args.int(a);
    else args.text(a);
  }
  return evalScript(redis, s, args, slotOf(keys[0]!));
}
