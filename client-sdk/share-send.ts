import { PassbyError, SOCIAL_LIMITS } from '../protocol/index.js';
import { type AbortSignalLike, cancelled, onAbort } from './abort.js';
import { ENVELOPE_OVERHEAD } from './envelope.js';
import { CHUNK_OVERHEAD, type OutgoingChunk } from './file-transfer.js';
import { encodePayload, type FileOffer, type SharedContent } from './payload.js';
import type { Sender } from './sender.js';

/** What a share holds: text, bytes, or a file. */
export type ShareContent = string | Uint8Array | { file: Uint8Array; name: string; type?: string };

export interface ShareOptions {
  /** What the recipient sees before deciding: a caption, a thumbnail ... (end-to-end encrypted). */
  preview: string | Uint8Array;
  ttlSeconds?: number | undefined;
  /** Ask for a receipt for the share: delivered, expired, or rejected (a rejection always sends one). */
  receipt?: boolean | undefined;
  /** Cancels the share while it is being sent: share() rejects with ClientError('cancelled'). */
  signal?: AbortSignalLike | undefined;
}

export interface Shared {
  to: string;
  /** The share's ID: the `mid` of the offer, of its receipt, and of the recipient's `offer` event. */
  mid: string;
  /** When the relay drops the offer undelivered, ms since the epoch. */
  exp: number;
  /** Parts held for it: 1 for text or bytes, 1 + chunks for a file. */
  parts: number;
  /** What the recipient gets once it accepts, as its `message` (by mid) or `file` (by fileId). */
  content: SharedContent;
}

/** Times the parts and the share go out when the relay answers `share_incomplete`. */
export const SHARE_ATTEMPTS = 3;

/**
 * Sends a share (DESIGN C2, protocol v2): first its content as parts the relay holds undelivered
 * (`send {offer: mid}`), then, once every part is stored, the `share` frame with the sealed preview.
 * When the relay says a part is missing (`share_incomplete`), every part goes again under its own
 * ID (the relay stores each once) and then the share, up to SHARE_ATTEMPTS times in all.
 */
export async function sendShare(
  sender: Sender,
  to: string,
  content: ShareContent,
  options: ShareOptions,
  mid: string,
  window: number,
): Promise<Shared> {
  const stop = onAbort(options.signal, 'the share', () => sender.cancel(mid, cancelled('the share')));
  try {
    return await sendParts(sender, to, content, options, mid, window);
  } finally {
    stop();
    sender.release(mid);
  }
}

/**
 * The share's steps, each queued under the share's `mid` as its group: when one part is refused
 * for good (or the app cancels), the sender gives up the rest and the next step is refused too.
 */
async function sendParts(
  sender: Sender,
  to: string,
  content: ShareContent,
  options: ShareOptions,
  mid: string,
  window: number,
): Promise<Shared> {
  const { preview, ttlSeconds, receipt } = options;
  const previewBytes = typeof preview === 'string' ? preview.length * 3 : preview.length;
  const ttl = ttlSeconds === undefined ? {} : { ttlSeconds };
  const held = { offer: mid };
  let described: SharedContent;
  let parts: number;
  /** Sends every part again (for a retry after share_incomplete). */
  let again: () => Promise<void>;
  if (typeof content === 'string' || content instanceof Uint8Array) {
    const partMid = `${mid}-c`;
    const payload = encodePayload(
      typeof content === 'string' ? { kind: 'text', text: content } : { kind: 'bytes', bytes: content },
    );
    described = { kind: typeof content === 'string' ? 'text' : 'bytes', mid: partMid };
    parts = 1;
    sender.checkShare(payload.length + ENVELOPE_OVERHEAD + previewBytes, 2);
    again = async () => {
      await sender.send(to, payload, false, { ...ttl, mid: partMid }, held, mid);
    };
    await again();
  } else {
    // Each chunk is encrypted once (the stream advances), so its ciphertext is kept until the
    // share is stored, for a resend.
    const chunks: OutgoingChunk[] = [];
    let file: FileOffer | undefined;
    const type = content.type ?? 'application/octet-stream';
    const { fileId, size } = await sender.sendFile(to, content.file, { name: content.name, type }, ttl, {
      offer: mid,
      onOffer: (f) => {
        // Refused before anything is stored: the relay would hold the parts and refuse the share.
        if (1 + f.chunks > SOCIAL_LIMITS.maxShareParts) {
          const why = `a file of ${f.chunks} chunks exceeds the ${SOCIAL_LIMITS.maxShareParts - 1} a share may hold`;
          throw new PassbyError('payload_too_large', why);
        }
        // The parts, the file's offer and the share's own offer, at the least.
        sender.checkShare(f.size + f.chunks * CHUNK_OVERHEAD + previewBytes, f.chunks + 2);
        file = f;
      },
      onChunk: (chunk) => chunks.push(chunk),
    });
    const offer = encodePayload({ kind: 'file', offer: file! });
    described = { kind: 'file', fileId, name: content.name, type, size };
    parts = 1 + chunks.length;
    again = async () => {
      await sender.send(to, offer, false, { ...ttl, mid: fileId }, held, mid);
      await inWindow(chunks, window, (c) => sender.sendSealed(to, c.mid, c.body, ttl, held, mid));
    };
  }
  const description = encodePayload({ kind: 'share', share: { content: described, preview } });
  for (let attempt = 1; ; attempt++) {
    try {
      const sent = await sender.send(to, description, false, { ...ttl, mid, receipt }, { parts }, mid);
      return { to, mid, exp: sent.exp, parts, content: described };
    } catch (err) {
      const incomplete = err instanceof PassbyError && err.code === 'share_incomplete';
      if (!incomplete || attempt >= SHARE_ATTEMPTS) throw err;
    }
    await again();
  }
}

/** Runs `send` for each item with at most `window` unsettled; rejects with the first failure. */
async function inWindow<T>(items: T[], window: number, send: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await send(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
}
