import { createHash, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import {
  createClient,
  createIdentity,
  DEFAULT_FILE_CHUNK_BYTES as DEFAULT_CHUNK_BYTES,
  type IncomingFile,
  type PassbyClient,
} from '../client-sdk/index.js';
import { type Context, urlOf } from './context.js';
import { median } from './stats.js';

/*
 * A file through the SDK, end to end: encrypt, chunk, store, deliver, ack, decrypt (one sender,
 * one recipient, both online), against the same bytes over the bare ws forwarder in chunks of
 * the SDK's size, interleaved per round. The clock runs from the call that sends the file to the
 * moment the recipient has the whole of it (the SDK's `file` event; the forwarder's last byte).
 * Every passby file is checked whole against the bytes sent.
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
  const [alice, bob] = await Promise.all([createIdentity(), createIdentity()]);
  const url = urlOf(ctx.targets, 'passby');
  const open = async (identity: typeof alice) => {
    const c = await createClient({ url, identity, WebSocket });
    if (c.state.kind !== 'open') await c.once('open');
    return c;
  };
  const clients: PassbyClient[] = [await open(alice), await open(bob)];
  const [sender, recipient] = clients as [PassbyClient, PassbyClient];
  try {
    for (let round = 0; round < ctx.options.rounds; round++) {
      ctx.progress(`files: round ${round + 1} of ${ctx.options.rounds}, ${bytes / 1024 / 1024} MiB`);
      const order = round % 2 === 0 ? (['passby', 'bare'] as const) : (['bare', 'passby'] as const);
      for (const target of order) {
        if (target === 'bare') {
          bare.push(await throughBare(ctx, data));
          continue;
        }
        const received = new Promise<IncomingFile>((resolve) => {
          const off = recipient.on('file', (f) => {
            off();
            resolve(f);
          });
        });
        const started = performance.now();
        await sender.sendFile(bob.id, data, { name: `bench-${round}.bin`, type: 'application/octet-stream' });
        const file = await within(received, 'the file through passby');
        passby.push(bytes / 1e6 / ((performance.now() - started) / 1000));
        if (file.size !== bytes || sha256(file.bytes) !== digest) corrupted++;
      }
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
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

/** The same bytes through the bare forwarder, in the SDK's chunk size: MB/s. */
async function throughBare(ctx: Context, data: Uint8Array): Promise<number> {
  const base = urlOf(ctx.targets, 'bare');
  const [from, to] = [randomBytes(8).toString('hex'), randomBytes(8).toString('hex')];
  const connect = (id: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${base}${base.includes('?') ? '&' : '?'}id=${id}`, {
        perMessageDeflate: false,
      });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const [sender, recipient] = await Promise.all([connect(from), connect(to)]);
  try {
    const head = Buffer.concat([Buffer.from([to.length]), Buffer.from(to, 'latin1')]);
    let got = 0;
    const done = new Promise<void>((resolve) => {
      recipient.on('message', (chunk: Buffer) => {
        got += chunk.length;
        if (got >= data.length) resolve();
      });
    });
    const started = performance.now();
    for (let at = 0; at < data.length; at += DEFAULT_CHUNK_BYTES) {
      sender.send(Buffer.concat([head, data.subarray(at, at + DEFAULT_CHUNK_BYTES)]), { binary: true });
    }
    await within(done, 'the bytes through the bare forwarder');
    return data.length / 1e6 / ((performance.now() - started) / 1000);
  } finally {
    sender.terminate();
    recipient.terminate();
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
