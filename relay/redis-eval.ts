import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';

/*
 * EVALSHA for the relay's per-turn batches, with the request's bytes (RESP) built in one Buffer.
 * ioredis builds a request argument by argument (a string per argument, a copy of the argument
 * list at each of several layers, then a copy of everything into one buffer), which was the
 * largest single source of garbage in the relay: a batch of 150 sends is 1,200 arguments. The
 * reply is still read by ioredis, and a command waiting for a reconnect is written then.
 */

/** A script the relay runs with evalScript: its text and its SHA1, computed once. */
export interface Script {
  readonly lua: string;
  readonly sha: string;
}

export function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** A command whose bytes are ready; ioredis writes them as they are. */
class PreparedCommand extends Command {
  constructor(
    name: string,
    private readonly bytes: Buffer,
    binary: boolean,
  ) {
    super(name, [], { replyEncoding: binary ? null : 'utf8' });
  }

  override toWritable(): Buffer {
    return this.bytes;
  }
}

/**
 * Runs `s` with no keys and `args` as ARGV; bulk strings in the reply come as strings, or as
 * Buffers when `binary`. Redis may have lost its script cache (a restart): then the same call
 * goes again as EVAL with the script's text, which caches it once more.
 */
export async function evalScript(
  redis: Redis,
  s: Script,
  args: readonly (string | Buffer)[],
  binary = false,
): Promise<unknown> {
  try {
    return await redis.sendCommand(new PreparedCommand('evalsha', request('evalsha', s.sha, args), binary));
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.sendCommand(new PreparedCommand('eval', request('eval', s.lua, args), binary));
  }
}

const CRLF_LENGTH = 2;

/** RESP: *<count> then each argument as $<bytes> <bytes>: name, script, numkeys 0, then args. */
function request(name: string, body: string, args: readonly (string | Buffer)[]): Buffer {
  const count = args.length + 3;
  const lengths = new Array<number>(args.length);
  const nameLength = Buffer.byteLength(name);
  const bodyLength = Buffer.byteLength(body);
  let size = 1 + digits(count) + CRLF_LENGTH;
  size += bulkSize(nameLength) + bulkSize(bodyLength) + bulkSize(1);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const length = typeof arg === 'string' ? Buffer.byteLength(arg) : arg.length;
    lengths[i] = length;
    size += bulkSize(length);
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x2a; // '*'
  let at = writeCount(out, 1, count);
  at = writeBulk(out, at, name, nameLength);
  at = writeBulk(out, at, body, bodyLength);
  at = writeBulk(out, at, '0', 1);
  for (let i = 0; i < args.length; i++) at = writeBulk(out, at, args[i]!, lengths[i]!);
  if (at !== size) throw new RangeError(`request took ${at} bytes, not ${size}`);
  return out;
}

function bulkSize(length: number): number {
  return 1 + digits(length) + CRLF_LENGTH + length + CRLF_LENGTH;
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes the decimal `n` and CRLF at `at`; returns the offset after them. */
function writeCount(out: Buffer, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  out[end] = 0x0d;
  out[end + 1] = 0x0a;
  return end + 2;
}

function writeBulk(out: Buffer, at: number, arg: string | Buffer, length: number): number {
  out[at] = 0x24; // '$'
  at = writeCount(out, at + 1, length);
  if (typeof arg === 'string') out.write(arg, at, length, 'utf8');
  else out.set(arg, at);
  at += length;
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}
