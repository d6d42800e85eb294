import { createHash, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  createClient,
  createIdentity,
  DEFAULT_FILE_CHUNK_BYTES as DEFAULT_CHUNK_BYTES,
  type PassbyClient,
} from '../client-sdk/index.js';
import { type Context, urlOf } from './context.js';
import { epochNow, type FileArrival, openBare } from './load-files.js';
import { Pool } from './pool.js';
import { median } from './stats.js';

/*
 * A file through the SDK, end to end: encrypt, chunk, store, deliver, ack, decrypt (one sender,
 * one recipient, both online), against the same bytes over the bare ws forwarder in chunks of
 * the SDK's size, interleaved per round. The sender is this process; the recipient, of either
 * target, is a load worker (load-files.ts): two devices, each with its own event loop and core,
 * as they would be. The clock runs from the call that sends the file to the moment the recipient
 * has the whole of it (the SDK's `file` event; the forwarder's last byte), both read as epoch
 * milliseconds. Every file is checked whole against the bytes sent.
 */
export interface FilesResult {
  bytes: number;
  chunkBytes: number;
  /** MB/s (10^6 bytes per second) per round. */
  passby: number[];
  bare: number[];
  /** Median of passby's MB/s. */
  megabytesPerSecond: number;
  /** Median of the per-round ratios passby / bare. */
  ratioToBare: number;
  /** Files that arrived different from what was sent (0). */
  corrupted: number;
}

/** Longest one transfer may take before the scenario gives up on it. */
const TRANSFER_TIMEOUT_MS = 120_000;

export async function runFiles(ctx: Context): Promise<FilesResult> {
  const bytes = (ctx.options.quick ? 10 : 50) * 1024 * 1024;
  const data = new Uint8Array(randomBytes(bytes));
  const digest = sha256(data);
  const passby: number[] = [];
  const bare: number[] = [];
  let corrupted = 0;
  const pool = await Pool.start(1);
  let sender: PassbyClient | undefined;
  try {
    const bareUrl = urlOf(ctx.targets, 'bare');
    const bareId = randomBytes(8).toString('hex');
    const recipient = await pool.call<string>(0, {
      cmd: 'filesOpen',
      args: { passbyUrl: urlOf(ctx.targets, 'passby'), bareUrl, bareId },
    });
    const identity = await createIdentity();
    sender = await createClient({ url: urlOf(ctx.targets, 'passby'), identity, WebSocket });
    if (sender.state.kind !== 'open') await sender.once('open');
    const through = async (target: 'passby' | 'bare', send: () => Promise<void>) => {
      await pool.call(0, { cmd: 'filesExpect', args: { target, bytes, timeoutMs: TRANSFER_TIMEOUT_MS } });
      const started = epochNow();
      await within(send(), `the file through ${target}`);
      const arrival = await pool.call<FileArrival>(0, { cmd: 'filesWait', args: {} });
      if (arrival.bytes !== bytes || arrival.sha256 !== digest) corrupted++;
      return bytes / 1e6 / ((arrival.at - started) / 1000);
    };
    for (let round = 0; round < ctx.options.rounds; round++) {
      ctx.progress(`files: round ${round + 1} of ${ctx.options.rounds}, ${bytes / 1024 / 1024} MiB`);
      const order = round % 2 === 0 ? (['passby', 'bare'] as const) : (['bare', 'passby'] as const);
      for (const target of order) {
        if (target === 'bare') {
          bare.push(await throughBare(bareUrl, bareId, data, (send) => through('bare', send)));
          continue;
        }
        const meta = { name: `bench-${round}.bin`, type: 'application/octet-stream' };
        const client = sender;
        passby.push(await through('passby', () => client.sendFile(recipient, data, meta).then(() => {})));
      }
    }
  } finally {
    await sender?.close();
    await pool.call(0, { cmd: 'filesClose', args: {} }).catch(() => {});
    await pool.stop();
  }
  const ratios = passby.map((p, i) => p / bare[i]!);
  return {
    bytes,
    chunkBytes: DEFAULT_CHUNK_BYTES,
    passby,
    bare,
    megabytesPerSecond: median(passby),
    ratioToBare: median(ratios),
    corrupted,
  };
}

/** The same bytes through the bare forwarder to `to`, in the SDK's chunk size: MB/s. */
async function throughBare(
  base: string,
  to: string,
  data: Uint8Array,
  through: (send: () => Promise<void>) => Promise<number>,
): Promise<number> {
  const sender = await openBare(base, randomBytes(8).toString('hex'));
  try {
    const head = Buffer.concat([Buffer.from([to.length]), Buffer.from(to, 'latin1')]);
    return await through(async () => {
      for (let at = 0; at < data.length; at += DEFAULT_CHUNK_BYTES) {
        sender.send(Buffer.concat([head, data.subarray(at, at + DEFAULT_CHUNK_BYTES)]), { binary: true });
      }
    });
  } finally {
    sender.terminate();
  }
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`files: ${what} took over ${TRANSFER_TIMEOUT_MS} ms`)),
      TRANSFER_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
