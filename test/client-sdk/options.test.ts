import { beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type ClientOptions, createClient, createIdentity, type Identity } from '../../client-sdk/index.js';

let identity: Identity;
beforeAll(async () => {
  identity = await createIdentity();
});

describe('createClient options', () => {
  const base = (): ClientOptions => ({ url: 'ws://127.0.0.1:1/', identity, WebSocket, autoConnect: false });

  it('accepts the minimum and starts idle when told not to connect', async () => {
    const client = await createClient(base());
    expect(client.state).toEqual({ kind: 'idle' });
    expect(client.id).toBe(identity.id);
    await client.close();
    expect(client.state.kind).toBe('closed');
  });

  it.each([
    ['a non-WebSocket URL', { url: 'http://example.org' }, /url must start/],
    ['a missing identity', { identity: undefined }, /identity/],
    ['a zero in-flight window', { maxInFlight: 0 }, /maxInFlight/],
    ['a backoff that shrinks', { backoff: { baseMs: 5000, maxMs: 100 } }, /backoff/],
    ['an outbox smaller than the window', { maxInFlight: 50, outboxLimit: 10 }, /outboxLimit/],
    ['a storage without keys()', { storage: { get() {}, set() {}, delete() {} } }, /storage.keys/],
    ['a request timeout of zero', { requestTimeoutMs: 0 }, /requestTimeoutMs/],
    ['a negative presence interval', { presenceIntervalMs: -1 }, /presenceIntervalMs/],
    ['a blind mode that is not a boolean', { blindProximity: 'yes' }, /blindProximity/],
    ['an empty relay ID', { relayId: '' }, /relayId/],
    ['a relay ID that is not a string', { relayId: 42 }, /relayId/],
    ['a relay ID with a line break', { relayId: 'relay\nother' }, /relayId/],
    ['a relay ID longer than a challenge may carry', { relayId: 'r'.repeat(257) }, /relayId/],
  ])('throws a TypeError early for %s', async (_name, patch, message) => {
    await expect(createClient({ ...base(), ...(patch as Partial<ClientOptions>) })).rejects.toThrow(message);
    await expect(createClient({ ...base(), ...(patch as Partial<ClientOptions>) })).rejects.toBeInstanceOf(
      TypeError,
    );
  });

  it('lists every problem at once', async () => {
    const err = await createClient({ ...base(), url: 'nope', maxInFlight: -1 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/url.*maxInFlight/);
  });
});
