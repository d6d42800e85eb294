import { ClientError } from './errors.js';
import type { Identity } from './identity.js';
import { concat, sodium, utf8 } from './sodium.js';

/*
 * The end-to-end envelope of one message (CRYPTO.md explains why it looks like this).
 *
 *   body = 0x01 || epk (32) || nonce (24) || XChaCha20-Poly1305(key, nonce, ad, plaintext)
 *   key  = BLAKE2b-256(DOMAIN || X25519(e, R) || X25519(S, R) || epk || S || R)
 *   ad   = 0x01 || epk || DOMAIN || from || to || mid
 *
 * S and R are the sender's and recipient's X25519 keys (converted from their Ed25519 identity keys),
 * e is a fresh ephemeral key pair per message, derived from the sender's secret and the message's
 * random nonce and addressing (Identity.ephemeralSecret), so that the sender's other devices can
 * derive it again and open a `sent` copy (openOwn); a recipient opens it as any X25519 key. Only the holder of S's secret key can compute
 * X25519(S, R), so a recipient who opens the box knows who sealed it; binding from, to and mid into
 * the associated data stops the relay from re-addressing, reflecting or re-labelling a ciphertext.
 */
export const ENVELOPE_VERSION = 0x01;
const DOMAIN = 'passby-e2e-v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const EPK_BYTES = 32;
const HEADER_BYTES = 1 + EPK_BYTES + NONCE_BYTES;
/** Bytes an envelope adds to its plaintext. */
export const ENVELOPE_OVERHEAD = HEADER_BYTES + 16;

export interface Addressing {
  from: string;
  to: string;
  mid: string;
}

function associatedData(epk: Uint8Array, a: Addressing): Uint8Array {
  return concat(Uint8Array.of(ENVELOPE_VERSION), epk, utf8(`${DOMAIN}\n${a.from}\n${a.to}\n${a.mid}`));
}

/** The addressing as the ephemeral derivation reads it (the IDs cannot contain a newline). */
function addressingText(a: Addressing): string {
  return `${DOMAIN}\n${a.from}\n${a.to}\n${a.mid}`;
}

function deriveKey(es: Uint8Array, ss: Uint8Array, epk: Uint8Array, s: Uint8Array, r: Uint8Array) {
  return sodium.crypto_generichash(KEY_BYTES, concat(utf8(DOMAIN), es, ss, epk, s, r), null);
}

/** Seals `plaintext` from `sender` to the recipient whose X25519 public key is `recipientBoxKey`. */
export function seal(
  sender: Identity,
  recipientBoxKey: Uint8Array,
  a: Addressing,
  plaintext: Uint8Array,
): Uint8Array {
  const nonce = sodium.randombytes_buf(NONCE_BYTES);
  const e = sender.ephemeralSecret(nonce, addressingText(a));
  const epk = sodium.crypto_scalarmult_base(e);
  const es = sodium.crypto_scalarmult(e, recipientBoxKey);
  const ss = sender.agree(recipientBoxKey);
  const key = deriveKey(es, ss, epk, sender.boxPublicKey, recipientBoxKey);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plaintext,
    associatedData(epk, a),
    null,
    nonce,
    key,
  );
  sodium.memzero(e);
  sodium.memzero(key);
  return concat(Uint8Array.of(ENVELOPE_VERSION), epk, nonce, ct);
}

/**
 * Opens an envelope that `sender` (this identity, on another device) sealed to the user whose
 * X25519 key is `recipientBoxKey`: a `sent` copy. The ephemeral secret is derived again from the
 * nonce and the addressing; an envelope whose ephemeral key is not that one was not sealed by this
 * identity (an older SDK's random ephemeral, or a forgery) and throws ClientError('tampered').
 */
export function openOwn(
  sender: Identity,
  recipientBoxKey: Uint8Array,
  a: Addressing,
  body: Uint8Array,
): Uint8Array {
  if (body.length < ENVELOPE_OVERHEAD || body[0] !== ENVELOPE_VERSION || a.from !== sender.id) {
    throw new ClientError('tampered', 'not a passby v1 envelope of this identity');
  }
  const epk = body.subarray(1, 1 + EPK_BYTES);
  const nonce = body.subarray(1 + EPK_BYTES, HEADER_BYTES);
  const e = sender.ephemeralSecret(nonce, addressingText(a));
  try {
    if (!sameBytes(sodium.crypto_scalarmult_base(e), epk)) throw new Error('another ephemeral key');
    const es = sodium.crypto_scalarmult(e, recipientBoxKey);
    const ss = sender.agree(recipientBoxKey);
    const key = deriveKey(es, ss, epk, sender.boxPublicKey, recipientBoxKey);
    const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      body.subarray(HEADER_BYTES),
      associatedData(epk, a),
      nonce,
      key,
    );
    sodium.memzero(key);
    return plain;
  } catch (err) {
    throw new ClientError('tampered', `the copy of message ${a.mid} to ${a.to} failed authentication`, {
      cause: err,
    });
  } finally {
    sodium.memzero(e);
  }
}

/**
 * Opens an envelope addressed to `recipient` from the user whose X25519 key is `senderBoxKey`.
 * Throws ClientError('tampered') when anything about it is wrong; never returns unverified bytes.
 */
export function open(
  recipient: Identity,
  senderBoxKey: Uint8Array,
  a: Addressing,
  body: Uint8Array,
): Uint8Array {
  if (body.length < ENVELOPE_OVERHEAD || body[0] !== ENVELOPE_VERSION) {
    throw new ClientError('tampered', 'not a passby v1 envelope');
  }
  const epk = body.subarray(1, 1 + EPK_BYTES);
  const nonce = body.subarray(1 + EPK_BYTES, HEADER_BYTES);
  try {
    const es = recipient.agree(epk);
    const ss = recipient.agree(senderBoxKey);
    const key = deriveKey(es, ss, epk, senderBoxKey, recipient.boxPublicKey);
    const plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      body.subarray(HEADER_BYTES),
      associatedData(epk, a),
      nonce,
      key,
    );
    sodium.memzero(key);
    return plain;
  } catch (err) {
    // libsodium throws on a failed tag and on low-order points alike: both are forgeries.
    throw new ClientError('tampered', `message ${a.mid} from ${a.from} failed authentication`, {
      cause: err,
    });
  }
}

/** Byte equality of two public values (no secret is compared, so no constant time is needed). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
