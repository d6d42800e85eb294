import { readdir, readFile } from 'node:fs/promises';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClientError } from '../../client-sdk/index.js';
import { checkSodium, ready, SODIUM_CONSTANTS, SODIUM_FUNCTIONS } from '../../client-sdk/sodium.js';

beforeAll(async () => {
  await sodium.ready;
});

describe('the libsodium the SDK needs', () => {
  it('finds everything in libsodium-wrappers', async () => {
    expect(() => checkSodium(sodium)).not.toThrow();
    await expect(ready()).resolves.toBe(sodium);
  });

  it('names every missing function in a ClientError', () => {
    const partial = { ...sodium } as Record<string, unknown>;
    delete partial.crypto_secretstream_xchacha20poly1305_pull;
    delete partial.crypto_generichash_init;
    partial.crypto_secretstream_xchacha20poly1305_TAG_FINAL = undefined;
    let error: unknown;
    try {
      checkSodium(partial);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({ code: 'crypto_unavailable' });
    const message = (error as Error).message;
    for (const name of [
      'crypto_secretstream_xchacha20poly1305_pull',
      'crypto_generichash_init',
      'crypto_secretstream_xchacha20poly1305_TAG_FINAL',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('crypto_sign_detached');
  });

  it('lists exactly the libsodium names the SDK source uses', async () => {
    const dir = new URL('../../client-sdk/', import.meta.url);
    const used = new Set<string>();
    for (const name of await readdir(dir)) {
      if (!name.endsWith('.ts') || name === 'sodium.ts') continue;
      const source = await readFile(new URL(name, dir), 'utf8');
      for (const m of source.matchAll(/\b(?:sodium|s)\.((?:crypto|randombytes)_\w+|memzero)\b/g))
        used.add(m[1]!);
    }
    expect([...used].sort()).toEqual([...SODIUM_FUNCTIONS, ...SODIUM_CONSTANTS].sort());
  });
});
