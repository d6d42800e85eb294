import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ERRORS, LIMITS } from '../../../protocol/index.js';
import { bystanderStillServed } from '../../support/bystander.js';
import { type Identity, newIdentity, RawClient } from '../../support/raw-client.js';
import { useRelay } from '../../support/relay-fixture.js';

const fixture = useRelay({
  mailboxMaxMessages: 5,
  mailboxMaxBytes: 200_000,
  sendsPerSecond: 50,
  sendBurst: 50,
});

async function registered(): Promise<Identity> {
  const identity = await newIdentity();
  const client = await RawClient.login(fixture.relay.url, identity);
  await client.close();
  return identity;
}

describe('limits and bad input', () => {
  it('answers a full mailbox with quota_exceeded by count and by bytes', async () => {
    const alice = await newIdentity();
    const [bob, carol] = await Promise.all([registered(), registered()]);
    const sender = await RawClient.login(fixture.relay.url, alice);
    for (let i = 0; i < 5; i++) {
      expect(
        (await sender.sendAndWait({ t: 'send', to: bob.id, mid: `q-${i}`, body: Buffer.from('x') })).t,
      ).toBe('stored');
    }
    const sixth = await sender.sendAndWait({ t: 'send', to: bob.id, mid: 'q-5', body: Buffer.from('x') });
    expect(sixth).toMatchObject({ t: 'error', code: 'quota_exceeded', retry: true, ref: 'q-5' });

    for (let i = 0; i < 3; i++) {
      await sender.sendAndWait({
        t: 'send',
        to: carol.id,
        mid: `big-${i}`,
        body: randomBytes(LIMITS.maxBodyBytes),
      });
    }
    const over = await sender.sendAndWait({
      t: 'send',
      to: carol.id,
      mid: 'big-3',
      body: randomBytes(LIMITS.maxBodyBytes),
    });
    expect(over).toMatchObject({ t: 'error', code: 'quota_exceeded', ref: 'big-3' });
    await sender.close();
    await bystanderStillServed(fixture.relay.url);
  });

  it('answers an oversize payload with payload_too_large and keeps the connection', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), registered()]);
    const sender = await RawClient.login(fixture.relay.url, alice);
    const answer = await sender.sendAndWait({
      t: 'send',
      to: bob.id,
      mid: 'huge',
      body: randomBytes(LIMITS.maxBodyBytes + 1),
    });
    expect(answer).toMatchObject({ t: 'error', code: 'payload_too_large', retry: false, ref: 'huge' });
    expect(
      (await sender.sendAndWait({ t: 'send', to: bob.id, mid: 'fine', body: Buffer.from('ok') })).t,
    ).toBe('stored');
    await sender.close();
    await bystanderStillServed(fixture.relay.url);
  });

  it('answers a send to an ID that never connected with unknown_recipient', async () => {
    const [alice, ghost] = await Promise.all([newIdentity(), newIdentity()]);
    const sender = await RawClient.login(fixture.relay.url, alice);
    const answer = await sender.sendAndWait({ t: 'send', to: ghost.id, mid: 'm', body: Buffer.from('?') });
    expect(answer).toMatchObject({ t: 'error', code: 'unknown_recipient', ref: 'm' });
    await sender.close();
  });

  it('answers sends beyond the rate with rate_limited', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), registered()]);
    const sender = await RawClient.login(fixture.relay.url, alice);
    // 60 sends at once against a burst of 50; the mailbox quota (5) answers the first ones.
    for (let i = 0; i < 60; i++)
      sender.send({ t: 'send', to: bob.id, mid: `r-${i}`, body: Buffer.from('x') });
    const limited = await sender.next('error', (f) => f.code === 'rate_limited');
    expect(limited.retry).toBe(true);
    await sender.close();
  });

  it('answers malformed, unknown and ill-typed frames with their codes and keeps serving', async () => {
    const alice = await newIdentity();
    const client = await RawClient.login(fixture.relay.url, alice);
    const cases: [Uint8Array | string, boolean, string][] = [
      ['{"t":"hello"}', false, 'malformed_frame'],
      [new Uint8Array([0]), true, 'malformed_frame'],
      [new Uint8Array([0, 50, 1, 2]), true, 'malformed_frame'],
      [withHeader('not json'), true, 'malformed_frame'],
      [withHeader('[1,2]'), true, 'malformed_frame'],
      [withHeader('{"t":"teleport"}'), true, 'unknown_type'],
      [withHeader('{"t":"send","to":"short","mid":"a"}', [1]), true, 'invalid_field'],
      [withHeader('{"t":"send","to":"AAAAAAAAAAAAAAAAAAAAAA","mid":"bad id!"}', [1]), true, 'invalid_field'],
      [
        withHeader('{"t":"send","to":"AAAAAAAAAAAAAAAAAAAAAA","mid":"a","ttl":-5}', [1]),
        true,
        'invalid_field',
      ],
      [withHeader('{"t":"ack","id":"m:nope"}'), true, 'invalid_field'],
      [withHeader('{"t":"keys","rid":1,"ids":[]}'), true, 'invalid_field'],
      [withHeader('{"t":"hello","versions":[1]}'), true, 'out_of_order'],
    ];
    for (const [data, binary, code] of cases) {
      client.sendRaw(data, binary);
      expect((await client.next('error')).code).toBe(code);
    }
    expect(client.closed).toBeUndefined();
    expect(client.invalid).toEqual([]);
    await client.close();
    await bystanderStillServed(fixture.relay.url);
  });

  it('closes a connection that keeps sending bad frames with too_many_errors', async () => {
    const client = await RawClient.connect(fixture.relay.url);
    for (let i = 0; i <= 100; i++) client.sendRaw(new Uint8Array([1]));
    expect((await client.closedWith()).code).toBe(ERRORS.too_many_errors.close);
    await bystanderStillServed(fixture.relay.url);
  });
});

function withHeader(header: string, body: number[] = []): Uint8Array {
  const h = Buffer.from(header);
  return Buffer.concat([Buffer.from([h.length >> 8, h.length & 255]), h, Buffer.from(body)]);
}
