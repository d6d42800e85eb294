import type { FriendInfo, PassbyError, ReceiptStatus, RelayLimits } from '../protocol/index.js';
import type { ClientError } from './errors.js';
import type { SharedContent } from './payload.js';
import type { State, StateKind } from './state.js';

interface Received {
  /** The sender's user ID, proven by the ciphertext (not merely claimed by the relay). */
  from: string;
  /** The sender's message ID; unique per sender. */
  mid: string;
  /** When the relay accepted it, ms since the epoch. */
  at: number;
}

export type IncomingMessage = Received &
  ({ kind: 'text'; text: string } | { kind: 'bytes'; bytes: Uint8Array });

export interface IncomingFile extends Received {
  fileId: string;
  name: string;
  type: string;
  size: number;
  /** The whole file, every chunk authenticated and the total checked against the sender's hash. */
  bytes: Uint8Array;
}

export interface Progress {
  direction: 'send' | 'receive';
  fileId: string;
  /** The other side: recipient when sending, sender when receiving. */
  peer: string;
  /** Bytes stored at the relay (send) or decrypted and verified (receive). */
  bytes: number;
  total: number;
}

export interface Sent {
  to: string;
  mid: string;
  /** When the relay will drop it undelivered, ms since the epoch. */
  exp: number;
  /** True when the relay had already stored this message ID (a retry). */
  dup: boolean;
}

/** A friend request came in (`incoming`), was accepted (`friend`), or a friend removed you. */
export interface FriendEvent {
  user: string;
  state: 'incoming' | 'friend' | 'removed';
}

/** A friend with proximity on (both of you) was in range: who and when, never where (P2). */
export interface NearbyEvent {
  user: string;
  /** Start and end of the encounter's matching window, ms since the epoch (relay clock). */
  since: number;
  until: number;
}

/** A contact is a passby user now: one you looked up, or one who looked you up. */
export interface ContactEvent {
  user: string;
  /**
   * The number you gave `discovery.lookup` for this contact; null when the contact looked you up
   * (you became discoverable), or when the look-up was made on another device.
   */
  phone: string | null;
}

interface OfferBase extends Received {
  /** The share's ID (the sender's `share()` resolved with it; its receipts name it). */
  mid: string;
  /** When the offer and its held content expire undelivered, ms since the epoch. */
  exp: number;
  /** Parts the relay holds for it. */
  parts: number;
  /** The sender's preview, verified and decrypted: text or bytes, as the sender gave it. */
  preview: string | Uint8Array;
  /** What accepting delivers: a `message` with this mid, or a `file` with this fileId. */
  content: SharedContent;
}

/**
 * A share offered to you (protocol v2, DESIGN C2). `auto: true`: your pre-approval of this friend
 * (autoAccept, while in range) accepted it and its content follows. `auto: false`: nothing is
 * delivered until you `accept()`; `reject()` deletes it at the relay and tells the sender.
 */
export type IncomingOffer =
  | (OfferBase & { auto: true })
  | (OfferBase & {
      auto: false;
      /** Releases the content: it arrives as a `message` or `file` event. */
      accept(): Promise<void>;
      /** Deletes the content at the relay; the sender gets a `rejected` receipt. */
      reject(): Promise<void>;
    });

/**
 * Protocol v4: a message this identity sent from another of its devices (a `sent` copy), opened
 * with the identity's own key. A file shows as its offer (what was sent), not its bytes.
 */
export type SentElsewhere = { to: string; mid: string; at: number } & (
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'file'; fileId: string; name: string; type: string; size: number }
);

/**
 * Protocol v4: the relay said the friend list changed in a way no notice may name (a friend's
 * account was erased); the SDK read it again. `removed` are the IDs that were in the list the SDK
 * read before and are gone now (each also gets a `friend` event with state `removed`); empty when
 * the SDK had not read the list before.
 */
export interface FriendsChanged {
  friends: FriendInfo[];
  removed: string[];
}

/** The codes with which the relay ends a device's session for good (protocol v4). */
export type EndedCode = 'device_revoked' | 'erased' | 'device_required';

export interface ClientEvents {
  state: { from: StateKind; to: StateKind; state: State };
  open: { id: string; limits: RelayLimits };
  /** The relay has delivered every message that waited while we were away. */
  drained: Record<string, never>;
  /** A message, exactly once. The ack waits for every handler to return or resolve. */
  message: IncomingMessage;
  /**
   * A complete, verified file, exactly once. Acknowledged only after every handler returned or
   * resolved; one that throws gets the file again after the next reconnect (or restart).
   */
  file: IncomingFile;
  progress: Progress;
  /** The relay confirmed it stored a send (also for sends resumed from storage after a restart). */
  sent: Sent;
  /** The fate of a send or share that asked for it; `rejected` for every share the recipient declined. */
  receipt: { to: string; mid: string; status: ReceiptStatus; at: number };
  /** Something addressed to us was dropped because it failed verification; the app never saw it. */
  rejected: { from: string; mid: string; error: ClientError };
  /** Notices (protocol v2), each exactly once; acknowledged after every handler returned or resolved. */
  friend: FriendEvent;
  nearby: NearbyEvent;
  contact: ContactEvent;
  /** A share offered to you, once per process (see IncomingOffer). */
  offer: IncomingOffer;
  /** Protocol v4: what this identity sent from another device, once; acknowledged after the handlers. */
  sentElsewhere: SentElsewhere;
  /** Protocol v4: the friend list was read again after the relay said it changed. */
  friends: FriendsChanged;
  /**
   * Protocol v4: the relay ended this device for good (revoked, the account erased, or a version
   * 1-3 identity-key login refused because the identity has devices). The client is `closed`
   * and never reconnects; after `device_revoked` or `erased`, wipeStorage() forgets what it kept.
   */
  ended: { code: EndedCode; error: PassbyError };
  error: { error: PassbyError | ClientError; mid?: string };
}
