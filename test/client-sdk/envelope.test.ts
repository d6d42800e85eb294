import { beforeAll, describe, expect, it } from 'vitest';
import { open, seal } from '../../client-sdk/envelope.js';
import { ClientError, createIdentity, type Identity } from '../../client-sdk/index.js';

const bytes = (text: string) => new TextEncoder().encode(text);
let alice: Identity;
let bob: Identity;
let mallory: Identity;

beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]);
});

function tampered(fn: () => unknown): ClientError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('tampered');
    return err as ClientError;
  }
  throw new Error('expected the envelope to be refused');
}

describe('envelope', () => {
  const a2b = () => ({ from: alice.id, to: bob.id, mid: 'm1' });

  it('opens for the recipient what the sender sealed', () => {
    const body = seal(alice, bob.boxPublicKey, a2b(), bytes('hi bob'));
    expect(open(bob, alice.boxPublicKey, a2b(), body)).toEqual(bytes('hi bob'));
  });

  it('uses a fresh ephemeral key and nonce for every message', () => {
    const one = seal(alice, bob.boxPublicKey, a2b(), bytes('same'));
    const two = seal(alice, bob.boxPublicKey, a2b(), bytes('same'));
    expect(one.subarray(0, 57)).not.toEqual(two.subarray(0, 57));
    expect(one).not.toEqual(two);
  });

  it('refuses a ciphertext with any flipped byte', () => {
    const body = seal(alice, bob.boxPublicKey, a2b(), bytes('do not touch'));
    for (const i of [0, 1, 40, 60, body.length - 1]) {
      const copy = body.slice();
      copy[i]! ^= 1;
      tampered(() => open(bob, alice.boxPublicKey, a2b(), copy));
    }
  });

  it('refuses a message that claims another sender', () => {
    const forged = seal(mallory, bob.boxPublicKey, a2b(), bytes('I am alice'));
    tampered(() => open(bob, alice.boxPublicKey, a2b(), forged));
  });

  it('refuses a message relabelled with another message ID or recipient', () => {
    const body = seal(alice, bob.boxPublicKey, a2b(), bytes('once'));
    tampered(() => open(bob, alice.boxPublicKey, { ...a2b(), mid: 'm2' }, body));
    tampered(() => open(bob, alice.boxPublicKey, { ...a2b(), to: mallory.id }, body));
  });

  it('refuses a message reflected back to its sender as if the recipient had sent it', () => {
    const body = seal(alice, bob.boxPublicKey, a2b(), bytes('to bob'));
    tampered(() => open(alice, bob.boxPublicKey, { from: bob.id, to: alice.id, mid: 'm1' }, body));
  });

  it('refuses bytes too short to be an envelope', () => {
    tampered(() => open(bob, alice.boxPublicKey, a2b(), new Uint8Array(10)));
  });
});
