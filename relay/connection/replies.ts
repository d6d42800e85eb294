import type { WebSocket } from 'ws';
import {
  batches,
  encodeFrame,
  encodeFrameHead,
  LIMITS,
  type RelayFrame,
  type StoredItem,
} from '../../protocol/index.js';
import { FrameWriter } from './ws-frames.js';

/**
 * A session's outgoing frames, encoded into the tick's one socket write (FrameWriter). In a
 * version 3 session the tick's `stored` confirmations leave together, as `stored {items}` frames
 * of up to LIMITS.maxStoredPerFrame, written as the tick's frames are flushed (also when the
 * session closes, so confirmations queued before a close still leave).
 */
/** Who counts outgoing frame sizes (the relay's Metrics): an object, not a closure per connection. */
export interface FrameSizes {
  frameOut(bytes: number): void;
}

export class Replies extends FrameWriter {
  /** Set when the session agreed version 3. */
  batchStored = false;
  private storedBatch: StoredItem[] | undefined;

  /** `sizes` hears the size of every frame written (passby_frame_bytes), when given. */
  constructor(
    socket: WebSocket,
    private readonly sizes?: FrameSizes,
  ) {
    super(socket);
  }

  override write(payload: Uint8Array): void {
    this.sizes?.frameOut(payload.length);
    super.write(payload);
  }

  send(frame: RelayFrame): void {
    if (frame.t === 'stored' && this.batchStored && !('items' in frame)) {
      const { to, mid, exp, dup } = frame;
      if (this.storedBatch === undefined) {
        this.storedBatch = [];
        this.schedule();
      }
      this.storedBatch.push({ to, mid, exp, dup });
      return;
    }
    if ('body' in frame && frame.body.length >= LARGE_BODY) {
      const head = encodeFrameHead(frame, allocate);
      this.sizes?.frameOut(head.length + frame.body.length);
      this.writeParts(head, frame.body);
      return;
    }
    this.write(encodeFrame(frame, allocate));
  }

  protected override gather(): void {
    const items = this.storedBatch;
    if (items === undefined) return;
    this.storedBatch = undefined;
    for (const chunk of batches(items, LIMITS.maxStoredPerFrame))
      this.write(encodeFrame({ t: 'stored', items: chunk }, allocate));
  }
}

/**
 * Bodies of at least this many bytes are written beside their frame's head rather than copied
 * into the tick's buffer: below it, the copy costs less than another buffer in the writev. Kept
 * under 4 KiB, where Node stops serving Buffer.allocUnsafe from its shared pool, so that a 4 KiB
 * delivery allocates no buffer of its own (A/B at 4 KiB, 3 rounds: relay CPU per message 31-35 ->
 * 21-28 us, GC pauses halved, 19-21k -> 21-23k msg/s).
 */
const LARGE_BODY = 2 * 1024;

/** Frame bytes from Node's Buffer pool (a slice of a shared slab for small frames, not a fresh
 * ArrayBuffer each); encodeFrame fills every byte. */
const allocate = (size: number): Uint8Array => Buffer.allocUnsafe(size);
