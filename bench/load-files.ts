import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { createClient, createIdentity, type IncomingFile, type PassbyClient } from '../client-sdk/index.js';

/*
 * The receiving end of the files scenario (scenario-files.ts), in a load worker: a second device,
 * in its own process as it would be, so that the sender's work (hash, encrypt, send) and the
 * recipient's (decrypt, check, ack) do not share one event loop and one core. The same for the
 * bare forwarder's recipient, so both targets are measured alike. Arrival times are epoch
 * milliseconds (performance.timeOrigin + now), comparable with the sender's on this machine.
 */

export interface FileArrival {
  /** When the recipient had the whole file, epoch ms. */
  at: number;
  bytes: number;
  sha256: string;
}

export type FilesCommand =
  | { cmd: 'filesOpen'; args: { passbyUrl: string; bareUrl: string; bareId: string } }
  | { cmd: 'filesExpect'; args: { target: 'passby' | 'bare'; bytes: number; timeoutMs: number } }
  | { cmd: 'filesWait'; args: Record<string, never> }
  | { cmd: 'filesClose'; args: Record<string, never> };

export const epochNow = (): number => performance.timeOrigin + performance.now();

/** A connection to the bare forwarder (peer-bare.ts) as user `id`, open. */
export function openBare(url: string, id: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}${url.includes('?') ? '&' : '?'}id=${id}`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

export class FileRecipient {
  private client: PassbyClient | undefined;
  private bare: WebSocket | undefined;
  private expected: Promise<FileArrival> | undefined;

  /** Connects both recipients; returns the passby recipient's user ID. */
  async open(a: { passbyUrl: string; bareUrl: string; bareId: string }): Promise<string> {
    const identity = await createIdentity();
    const client = await createClient({ url: a.passbyUrl, identity, WebSocket });
    if (client.state.kind !== 'open') await client.once('open');
    this.client = client;
    this.bare = await openBare(a.bareUrl, a.bareId);
    return identity.id;
  }

  /** Starts listening for the next file (or its bytes over the forwarder); filesWait gets it. */
  expect(a: { target: 'passby' | 'bare'; bytes: number; timeoutMs: number }): void {
    const arrival = a.target === 'passby' ? this.nextFile() : this.nextBytes(a.bytes);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`files: nothing whole through ${a.target} in ${a.timeoutMs} ms`)),
        a.timeoutMs,
      );
    });
    this.expected = Promise.race([arrival, timeout]).finally(() => clearTimeout(timer));
    // Awaited by filesWait; a failure before then is not an unhandled rejection.
    this.expected.catch(() => {});
  }

  wait(): Promise<FileArrival> {
    if (this.expected === undefined) return Promise.reject(new Error('files: filesWait before filesExpect'));
    const e = this.expected;
    this.expected = undefined;
    return e;
  }

  async close(): Promise<void> {
    this.bare?.terminate();
    await this.client?.close();
  }

  private nextFile(): Promise<FileArrival> {
    const client = this.client!;
    return new Promise((resolve) => {
      const off = client.on('file', (f: IncomingFile) => {
        off();
        const at = epochNow();
        resolve({ at, bytes: f.size, sha256: createHash('sha256').update(f.bytes).digest('hex') });
      });
    });
  }

  private nextBytes(bytes: number): Promise<FileArrival> {
    const ws = this.bare!;
    const chunks: Buffer[] = [];
    let got = 0;
    return new Promise((resolve) => {
      const onMessage = (chunk: Buffer) => {
        got += chunk.length;
        chunks.push(chunk);
        if (got < bytes) return;
        const at = epochNow();
        ws.off('message', onMessage);
        // Hashed once the clock stopped, as passby's file is.
        const sha256 = createHash('sha256');
        for (const c of chunks) sha256.update(c);
        resolve({ at, bytes: got, sha256: sha256.digest('hex') });
      };
      ws.on('message', onMessage);
    });
  }
}
