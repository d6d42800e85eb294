import type { FileSender, OutgoingChunk } from './file-transfer.js';

export interface ChunkSink {
  /** Chunks queued and not yet stored, at most; the outbox's own window limits the wire. */
  window: number;
  /** Queues one chunk; resolves once the relay has stored it. */
  send(chunk: OutgoingChunk): Promise<unknown>;
  /** Bytes of the file stored so far. */
  progress(bytes: number): void;
}

/**
 * Feeds a file's chunks to the outbox, encrypting each only when there is room for it, so a large
 * file never sits in memory twice. Resolves when every chunk is stored; rejects with the first
 * failure (and stops producing chunks).
 */
export async function sendChunks(file: FileSender, sink: ChunkSink): Promise<void> {
  const { size, chunkBytes } = file.offer;
  const pending = new Set<Promise<void>>();
  let stored = 0;
  let failure: { error: unknown } | undefined;
  sink.progress(0);
  while (!file.done && !failure) {
    if (pending.size >= sink.window) await Promise.race(pending);
    if (failure) break;
    const p: Promise<void> = sink
      .send(file.next())
      .then(
        () => {
          stored++;
          sink.progress(Math.min(size, stored * chunkBytes));
        },
        (error: unknown) => {
          failure ??= { error };
        },
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  if (failure) throw failure.error;
}
