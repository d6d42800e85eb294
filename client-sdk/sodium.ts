import sodium from 'libsodium-wrappers';
import { ClientError } from './errors.js';

/**
 * Every libsodium function the SDK calls, and the constants it reads. React Native apps alias
 * `libsodium-wrappers` to a native build; not every build provides all of these, so ready()
 * checks them once and names what is missing (README.md, "React Native").
 */
export const SODIUM_FUNCTIONS = [
  'crypto_aead_xchacha20poly1305_ietf_decrypt',
  'crypto_aead_xchacha20poly1305_ietf_encrypt',
  'crypto_box_seal',
  'crypto_box_seal_open',
  'crypto_generichash',
  'crypto_generichash_final',
  'crypto_generichash_init',
  'crypto_generichash_update',
  'crypto_kdf_derive_from_key',
  'crypto_scalarmult',
  'crypto_scalarmult_base',
  'crypto_secretstream_xchacha20poly1305_init_pull',
  'crypto_secretstream_xchacha20poly1305_init_push',
  'crypto_secretstream_xchacha20poly1305_keygen',
  'crypto_secretstream_xchacha20poly1305_pull',
  'crypto_secretstream_xchacha20poly1305_push',
  'crypto_sign_detached',
  'crypto_sign_ed25519_pk_to_curve25519',
  'crypto_sign_ed25519_sk_to_curve25519',
  'crypto_sign_seed_keypair',
  'memzero',
  'randombytes_buf',
  'randombytes_uniform',
] as const;

export const SODIUM_CONSTANTS = [
  'crypto_secretstream_xchacha20poly1305_TAG_FINAL',
  'crypto_secretstream_xchacha20poly1305_TAG_MESSAGE',
] as const;

/** Throws a ClientError (`crypto_unavailable`) naming every function or constant `lib` lacks. */
export function checkSodium(lib: object): void {
  const has = lib as Record<string, unknown>;
  const missing = [
    ...SODIUM_FUNCTIONS.filter((name) => typeof has[name] !== 'function'),
    ...SODIUM_CONSTANTS.filter((name) => typeof has[name] !== 'number'),
  ];
  if (missing.length > 0) {
    throw new ClientError(
      'crypto_unavailable',
      `this libsodium build lacks what the passby SDK needs: ${missing.join(', ')}`,
    );
  }
}

let checked: Promise<typeof sodium> | undefined;

/**
 * libsodium, once its WebAssembly has loaded and it was found complete. Every SDK entry point that
 * does crypto (createClient, createIdentity, importIdentity) awaits it.
 */
export function ready(): Promise<typeof sodium> {
  checked ??= sodium.ready.then(() => {
    checkSodium(sodium);
    return sodium;
  });
  return checked;
}

export { sodium };

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const encoder = new TextEncoder();
export const utf8 = (text: string): Uint8Array => encoder.encode(text);
