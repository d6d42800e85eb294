/** Hard limits of protocol version 1. A relay may configure some lower; `welcome` states its own. */
export const LIMITS = {
  /** Largest payload (ciphertext) in one `send` or `msg` frame, in bytes. */
  maxBodyBytes: 64 * 1024,
  /** Largest JSON header of a frame a client sends, in bytes of UTF-8. */
  maxHeaderBytes: 8 * 1024,
  /** Largest JSON header of a frame the relay sends (a long friends list), up to the u16 prefix. */
  maxRelayHeaderBytes: 65_535,
  /** Longest time a payload may wait for its recipient. */
  maxTtlSeconds: 30 * 24 * 60 * 60,
  /** Most user IDs in one `keys` request. */
  maxKeysPerRequest: 64,
  /** Longest message ID a sender may choose. */
  maxMessageIdLength: 64,
  /** Version 3: most entry IDs in one `ack` (`ids`). */
  maxAcksPerFrame: 64,
  /** Version 3: most confirmations in one `stored` frame (`items`). */
  maxStoredPerFrame: 64,
} as const;

/** Largest WebSocket message a relay must accept: length prefix + header + body. */
export const MAX_FRAME_BYTES = 2 + LIMITS.maxHeaderBytes + LIMITS.maxBodyBytes;

/**
 * A user ID: 16 bytes (BLAKE2b-128 of the public key) in canonical base64url without padding. Its
 * 22 characters carry 132 bits, so the last one's 4 low bits are stray and must be zero: it is
 * A, Q, g or w. Each ID has one spelling, so two spellings never name two mailboxes.
 */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** A message ID chosen by the sender. */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A mailbox entry ID as the relay hands it out: `m:<sender>:<mid>` (message), `r:<recipient>:<mid>`
 * (receipt), `n:<user>:<tag>` (notice, protocol v2) or `c:<recipient>:<mid>` (a copy of what another
 * device of the same identity sent, protocol v4).
 */
export const ENTRY_ID_PATTERN = /^[mrnc]:[A-Za-z0-9_-]{21}[AQgw]:[A-Za-z0-9_-]{1,64}$/;

/**
 * `items` in runs of at most `size` (version 3 batches: acks and stored confirmations per frame);
 * `items` itself when it fits in one.
 */
export function batches<T>(items: T[], size: number): T[][] {
  if (items.length <= size) return [items];
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
