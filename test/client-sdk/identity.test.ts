import sodium from 'libsodium-wrappers';
import { describe, expect, it } from 'vitest';
import { createIdentity, importIdentity, userIdOf } from '../../client-sdk/index.js';
import { USER_ID_PATTERN, userIdFromDigest, userIdInput } from '../../protocol/index.js';

describe('identity', () => {
  it('derives the user ID from the public key as the protocol defines it', async () => {
    const identity = await createIdentity();
    const expected = userIdFromDigest(sodium.crypto_generichash(16, userIdInput(identity.publicKey), null));
    expect(identity.id).toBe(expected);
    expect(identity.id).toMatch(USER_ID_PATTERN);
    expect(userIdOf(identity.publicKey)).toBe(identity.id);
  });

  it('exports to text and imports back to the same keys', async () => {
    const identity = await createIdentity();
    const text = identity.export();
    expect(text).toMatch(/^passby-identity-v1:[A-Za-z0-9_-]{43}$/);
    const again = await importIdentity(text);
    expect(again.id).toBe(identity.id);
    expect(again.publicKey).toEqual(identity.publicKey);
    const message = new TextEncoder().encode('hello');
    expect(sodium.crypto_sign_verify_detached(again.sign(message), message, identity.publicKey)).toBe(true);
  });

  it('gives every new identity its own keys', async () => {
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    expect(a.id).not.toBe(b.id);
  });

  it('refuses text that is not an exported identity', async () => {
    await expect(importIdentity('nonsense')).rejects.toThrow(TypeError);
    await expect(importIdentity('passby-identity-v1:AAAA')).rejects.toThrow(TypeError);
  });

  it('keeps its secret out of JSON', async () => {
    const identity = await createIdentity();
    expect(JSON.stringify(identity)).toBe(JSON.stringify({ id: identity.id }));
  });
});
