import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERRORS, encodeFrame } from '../../../protocol/index.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { RawSocket } from '../../support/raw-socket.js';
import { useRelay } from '../../support/relay-fixture.js';

const fixture = useRelay({
  maxErrorsPerConnection: 1_000_000,
  sendsPerSecond: 1_000_000,
  sendBurst: 1_000_000,
  deliveryWindow: 1,
  maxBufferedBytes: 66_560,
});

describe('robustness', () => {
  it('keeps serving a client and its neighbours while random and mutated frames hit it', async () => {
    const [alice, bob, carol] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
    const fuzzed = await RawClient.login(fixture.relay.url, alice);
    const rb = await RawClient.login(fixture.relay.url, bob);
    const rc = await RawClient.login(fixture.relay.url, carol);
    const seeds = [
      encodeFrame({ t: 'send', to: bob.id, mid: 'seed', ttl: 5, body: new Uint8Array([1, 2, 3]) }),
      encodeFrame({ t: 'ack', id: `m:${bob.id}:seed` }),
      encodeFrame({ t: 'keys', rid: 3, ids: [bob.id] }),
    ];
    const mutated = fc
      .tuple(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      )
      .map(([seed, edits]) => {
        const bytes = seed.slice();
        for (const [i, b] of edits) if (i < bytes.length) bytes[i] = b;
        return bytes;
      });
    let rid = 1000;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), async (bytes) => {
        fuzzed.sendRaw(bytes);
        // The relay answers frames of one connection in order: the reply to this look-up proves
        // the connection survived whatever came before it.
        const probe = ++rid;
        fuzzed.send({ t: 'keys', rid: probe, ids: [carol.id] });
        const reply = await fuzzed.next('keys', (f) => f.rid === probe);
        expect(reply.keys[carol.id]).toBe(carol.pk);
      }),
      { numRuns: 300 },
    );
    expect(fuzzed.closed).toBeUndefined();
    expect(fuzzed.invalid).toEqual([]);
    // Neighbours never noticed: bob acknowledges what the fuzzing stored for him (the window is
    // one message) until carol's message arrives.
    rc.send({ t: 'send', to: bob.id, mid: 'after-fuzz', body: new Uint8Array([7]) });
    for (;;) {
      const msg = await rb.next('msg');
      rb.send({ t: 'ack', id: msg.id });
      if (msg.mid !== 'after-fuzz') continue;
      expect(msg.from).toBe(carol.id);
      break;
    }
    await Promise.all([fuzzed.close(), rb.close(), rc.close()]);
  });

  it('closes a client that stops reading with slow_consumer instead of buffering without bound', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const bystander = await RawClient.login(fixture.relay.url, bob);
    const slow = await RawSocket.open(fixture.relay.port);
    await slow.login(alice);
    // Stop reading at the TCP level and keep asking for replies of about 2 KB each (64 distinct IDs), until the
    // relay has closed (bounded: at most 20,000 requests, about 40 MB of replies).
    slow.socket.pause();
    const ids = Array.from({ length: 64 }, () => randomBytes(16).toString('base64url'));
    let closedByRelay = false;
    for (let i = 0; i < 20_000 && !closedByRelay; i++) {
      slow.send(encodeFrame({ t: 'keys', rid: i, ids }));
      if (i % 200 === 199) {
        // Let the relay work between batches, and see whether it still counts this client.
        bystander.send({ t: 'keys', rid: i, ids: [alice.id] });
        await bystander.next('keys', (f) => f.rid === i);
        const metrics = fixture.relay.metrics;
        closedByRelay = metrics.connectionsOpen === 1;
      }
    }
    expect(closedByRelay).toBe(true);
    slow.socket.resume();
    expect(await slow.closed()).toBe(ERRORS.slow_consumer.close);
    // The bystander never noticed.
    bystander.send({ t: 'keys', rid: 1, ids: [alice.id] });
    expect((await bystander.next('keys', (f) => f.rid === 1)).keys[alice.id]).toBe(alice.pk);
    await bystander.close();
  });
});
