import sodium from 'libsodium-wrappers';
import { toBase64url, USER_ID_HASH_BYTES, userIdFromDigest, userIdInput } from '../protocol/index.js';

/**
 * One client connection of the load generator, whatever it talks to. A link is open and
 * authenticated when connect resolves; it acknowledges every delivery itself (passby, the
 * Socket.IO peer and NATS JetStream all delete on ack) and reports what arrived through its handlers.
 */
export type TargetKind = 'passby' | 'bare' | 'socketio' | 'nats';

export const TARGET_KINDS: readonly TargetKind[] = ['passby', 'bare', 'socketio', 'nats'];

export interface Identity {
  id: string;
  /** passby only: Ed25519 public key in base64url and the secret key. */
  pk?: string;
  sk?: Uint8Array;
}

export interface LinkHandlers {
  /** A delivered payload (already acknowledged). */
  onMessage(body: Uint8Array): void;
  /** The relay (or peer) confirmed that it stored the send with this mid. */
  onStored?(mid: string): void;
  /** A send failed or the server reported an error; ref is the send's mid when known. */
  onError?(code: string, ref?: string): void;
  /** passby: the backlog has been delivered. */
  onDrained?(): void;
  onClose?(code: number): void;
}

export interface LinkOptions {
  url: string;
  identity: Identity;
  handlers: LinkHandlers;
  localAddress?: string;
  timeoutMs?: number;
}

export interface Link {
  readonly id: string;
  send(to: string, mid: string, body: Uint8Array): void;
  close(): void;
}

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A fresh identity: a real Ed25519 key pair for passby, a random 22-character ID for the peers. */
export function newIdentity(kind: TargetKind): Identity {
  if (kind !== 'passby') {
    let id = '';
    for (let i = 0; i < 22; i++) id += ID_CHARS[Math.floor(Math.random() * 64)];
    return { id };
  }
  const keys = sodium.crypto_sign_keypair();
  const digest = sodium.crypto_generichash(USER_ID_HASH_BYTES, userIdInput(keys.publicKey), null);
  return { id: userIdFromDigest(digest), pk: toBase64url(keys.publicKey), sk: keys.privateKey };
}

/** Runs `task` for 0..count-1 with at most `concurrency` under way; returns the failures. */
export async function runLimited(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<{ failures: number; firstError: string | undefined }> {
  let next = 0;
  let failures = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        failures += 1;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { failures, firstError };
}
