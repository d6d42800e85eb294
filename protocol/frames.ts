import type { AccountClientFrame, AccountRelayFrame, DeviceAuthFrame } from './account-frames.js';
import type { ErrorCode } from './errors.js';
import type { PushFrame } from './push-frames.js';
import type { ShareFrame, SocialClientFrame, SocialRelayFrame } from './social-frames.js';

/** Frames a client sends to the relay. */
export type ClientFrame =
  | HelloFrame
  | AuthFrame
  | DeviceAuthFrame
  | SendFrame
  | AckFrame
  | AckBatchFrame
  | KeysRequestFrame
  | ShareFrame
  | SocialClientFrame
  | AccountClientFrame
  | PushFrame;

/** Frames the relay sends to a client. */
export type RelayFrame =
  | ChallengeFrame
  | WelcomeFrame
  | StoredFrame
  | StoredBatchFrame
  | MessageFrame
  | ReceiptFrame
  | DrainedFrame
  | KeysReplyFrame
  | ErrorFrame
  | SocialRelayFrame
  | AccountRelayFrame;

export interface HelloFrame {
  t: 'hello';
  /** Protocol versions the client speaks. */
  versions: number[];
}

export interface AuthFrame {
  t: 'auth';
  /** Ed25519 public key, 32 bytes, base64url. */
  pk: string;
  /** Client clock, milliseconds since the Unix epoch. */
  ts: number;
  /** Ed25519 signature (64 bytes, base64url) of authMessage(relay, nonce, ts, pk). */
  sig: string;
}

export interface SendFrame {
  t: 'send';
  to: string;
  /** Sender-chosen message ID; a retry reuses it and is stored once. */
  mid: string;
  /** Seconds the payload may wait for its recipient; the relay clamps it to its own maximum. */
  ttl?: number;
  /** Ask for a receipt: delivered or expired. */
  receipt?: boolean;
  /**
   * Version 2: the `mid` of the share this payload is part of. The relay holds it, undelivered,
   * until the recipient accepts the share (and deletes it if they reject it).
   */
  offer?: string;
  /** Ciphertext, opaque to the relay. */
  body: Uint8Array;
}

export interface AckFrame {
  t: 'ack';
  /** Entry ID from a `msg` or `receipt` frame. */
  id: string;
}

/** Version 3: several acks in one frame, each handled as if it came in its own `ack`. */
export interface AckBatchFrame {
  t: 'ack';
  /** 1 to LIMITS.maxAcksPerFrame entry IDs. */
  ids: string[];
}

export interface KeysRequestFrame {
  t: 'keys';
  /** Request ID chosen by the client, echoed in the reply. */
  rid: number;
  ids: string[];
}

export interface ChallengeFrame {
  t: 'challenge';
  /** The protocol version the relay chose. */
  v: number;
  /** 32 random bytes, base64url, valid for this connection only. */
  nonce: string;
  /** The relay's identity, which the client signs so an answer cannot be replayed elsewhere. */
  relay: string;
  /** Relay clock, milliseconds since the Unix epoch. */
  time: number;
}

export interface RelayLimits {
  maxBodyBytes: number;
  maxTtlSeconds: number;
  mailboxMaxMessages: number;
  mailboxMaxBytes: number;
  sendsPerSecond: number;
  /** The matching window in ms (a relay from before 0.2 does not say). */
  proximityWindowMs?: number;
  /** Least time between two presence updates of a user, in ms (idem). */
  presenceIntervalMs?: number;
  /** How long the parts of an unfinished share wait for a new part or the share frame, in s (idem). */
  heldPartsTtlSeconds?: number;
  /** Whether the relay files shares from users who are not the recipient's friends (idem). */
  strangerShares?: boolean;
  /** Version 4: most devices an identity may have. */
  maxDevices?: number;
}

export interface WelcomeFrame {
  t: 'welcome';
  /** The authenticated user's ID. */
  id: string;
  limits: RelayLimits;
  /** Version 4: this device's ID. */
  device?: string;
  /** Version 4: the identity secret sealed to this device's key, while its pairing is not finished. */
  box?: string;
}

/** The relay's confirmation that one send is durably stored. */
export interface StoredItem {
  to: string;
  mid: string;
  /** When the payload expires undelivered, milliseconds since the Unix epoch. */
  exp: number;
  /** True when this (sender, mid) was already stored: the retry changed nothing. */
  dup: boolean;
}

/** Versions 1 and 2: one confirmation per frame. */
export interface StoredFrame extends StoredItem {
  t: 'stored';
}

/** Version 3: the confirmations the relay has for a connection at once, in one frame. */
export interface StoredBatchFrame {
  t: 'stored';
  /** 1 to LIMITS.maxStoredPerFrame confirmations. */
  items: StoredItem[];
}

export interface MessageFrame {
  t: 'msg';
  /** Entry ID to acknowledge. */
  id: string;
  from: string;
  mid: string;
  /** When the relay accepted it, milliseconds since the Unix epoch. */
  ts: number;
  exp: number;
  body: Uint8Array;
}

export type ReceiptStatus = 'delivered' | 'expired' | 'rejected';

export interface ReceiptFrame {
  t: 'receipt';
  /** Entry ID to acknowledge. */
  id: string;
  /** The recipient of the original message. */
  to: string;
  mid: string;
  status: ReceiptStatus;
  /** When the status was reached, milliseconds since the Unix epoch. */
  at: number;
}

export interface DrainedFrame {
  t: 'drained';
}

export interface KeysReplyFrame {
  t: 'keys';
  rid: number;
  /** Public key (base64url) per requested ID, null when the relay holds none. */
  keys: Record<string, string | null>;
}

export interface ErrorFrame {
  t: 'error';
  code: ErrorCode;
  message: string;
  retry: boolean;
  /** The `mid` of the send, or the `rid` of the request, the error answers, when there is one. */
  ref?: string;
}
