import sodium from 'libsodium-wrappers';
import { b64url, type Keys } from './wire.js';

/*
 * The end-to-end format written from client-sdk/CRYPTO.md alone ("The envelope (normative)",
 * "Payloads (normative)"), on libsodium directly: it imports nothing from client-sdk/ or protocol/,
 * so SDK clients that open what this seals (and the reverse) show the document is enough.
 */

export interface Addressing {
  from: string;
  to: string;
  mid: string;
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const DOMAIN = 'passby-e2e-v1';

/** "Keys": the X25519 pair of an Ed25519 identity. */
export function boxKeys(keys: Keys): { secret: Uint8Array; public: Uint8Array } {
  return {
    secret: sodium.crypto_sign_ed25519_sk_to_curve25519(keys.privateKey),
    public: sodium.crypto_sign_ed25519_pk_to_curve25519(keys.publicKey),
  };
}

/** "Keys": an Ed25519 key from the relay, accepted only if it hashes to the user ID. */
export function verifiedBoxKey(id: string, pk: string): Uint8Array {
  const publicKey = new Uint8Array(Buffer.from(pk, 'base64url'));
  const hashed = b64url(sodium.crypto_generichash(16, cat(utf8('passby-id-v1'), publicKey), null));
  if (hashed !== id) throw new Error(`the key does not belong to ${id}`);
  return sodium.crypto_sign_ed25519_pk_to_curve25519(publicKey);
}

function key(es: Uint8Array, ss: Uint8Array, E: Uint8Array, S: Uint8Array, R: Uint8Array): Uint8Array {
  return sodium.crypto_generichash(32, cat(utf8(DOMAIN), es, ss, E, S, R), null);
}

function ad(E: Uint8Array, a: Addressing): Uint8Array {
  return cat(Uint8Array.of(0x01), E, utf8(`${DOMAIN}\n${a.from}\n${a.to}\n${a.mid}`));
}

/** "Sealing". */
export function seal(sender: Keys, recipientBoxKey: Uint8Array, a: Addressing, plaintext: Uint8Array) {
  const s = boxKeys(sender);
  const e = sodium.crypto_box_keypair();
  const nonce = sodium.randombytes_buf(24);
  const es = sodium.crypto_scalarmult(e.privateKey, recipientBoxKey);
  const ss = sodium.crypto_scalarmult(s.secret, recipientBoxKey);
  const k = key(es, ss, e.publicKey, s.public, recipientBoxKey);
  const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad(e.publicKey, a), null, nonce, k);
  return cat(Uint8Array.of(0x01), e.publicKey, nonce, ct);
}

/** "Opening": the plaintext, or an error for anything that is not a valid envelope. */
export function open(recipient: Keys, senderBoxKey: Uint8Array, a: Addressing, body: Uint8Array) {
  if (body.length < 73 || body[0] !== 0x01) throw new Error('not an envelope');
  const r = boxKeys(recipient);
  const E = body.subarray(1, 33);
  const nonce = body.subarray(33, 57);
  const es = sodium.crypto_scalarmult(r.secret, E);
  const ss = sodium.crypto_scalarmult(r.secret, senderBoxKey);
  const k = key(es, ss, E, senderBoxKey, r.public);
  return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, body.subarray(57), ad(E, a), nonce, k);
}

/** "Payloads": kind 0x01 text, 0x02 bytes. */
export const textPayload = (text: string) => cat(Uint8Array.of(0x01), utf8(text));
export const bytesPayload = (bytes: Uint8Array) => cat(Uint8Array.of(0x02), bytes);

/** "Share description" (kind 0x04) with a text preview. */
export function sharePayload(content: Record<string, unknown>, text: string): Uint8Array {
  const json = utf8(JSON.stringify({ content, text }));
  return cat(Uint8Array.of(0x04, json.length >> 8, json.length & 0xff), json);
}

export interface FileOffer {
  fileId: string;
  name: string;
  type: string;
  size: number;
  chunks: number;
  chunkBytes: number;
  hash: string;
  key: string;
  header: string;
}

/** "File offer" (kind 0x03): its JSON, refused unless it has the members the document lists. */
export function fileOfferOf(plaintext: Uint8Array): FileOffer {
  if (plaintext[0] !== 0x03) throw new Error(`payload kind ${plaintext[0]} is not a file offer`);
  const offer = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext.subarray(1)));
  const members = ['chunkBytes', 'chunks', 'fileId', 'hash', 'header', 'key', 'name', 'size', 'type'];
  if (Object.keys(offer).sort().join() !== members.join()) throw new Error('not a file offer');
  return offer as FileOffer;
}

/** "File chunk": the mid a chunk must travel under. */
export const chunkMid = (fileId: string, index: number) => `${fileId}-${index.toString(36)}`;

/** "File chunk": pulls chunks 0 .. chunks - 1 in order and checks the tag, the size and the hash. */
export function assembleFile(offer: FileOffer, bodies: Uint8Array[]): Uint8Array {
  const fileId = Buffer.from(offer.fileId, 'base64url');
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(
    Buffer.from(offer.header, 'base64url'),
    Buffer.from(offer.key, 'base64url'),
  );
  const out: Uint8Array[] = [];
  bodies.forEach((body, index) => {
    const indexBytes = new Uint8Array(4);
    new DataView(indexBytes.buffer).setUint32(0, index);
    const prefix = cat(Uint8Array.of(0x02), fileId, indexBytes);
    if (!Buffer.from(body.subarray(0, 21)).equals(Buffer.from(prefix)))
      throw new Error(`chunk ${index}: prefix`);
    const pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(
      state,
      body.subarray(21),
      body.subarray(1, 21),
    );
    if (!pulled) throw new Error(`chunk ${index} failed authentication`);
    const last = index === offer.chunks - 1;
    if ((pulled.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) !== last)
      throw new Error(`chunk ${index}: tag`);
    out.push(pulled.message);
  });
  const file = cat(...out);
  if (file.length !== offer.size) throw new Error('size');
  if (b64url(sodium.crypto_generichash(32, file, null)) !== offer.hash) throw new Error('hash');
  return file;
}
