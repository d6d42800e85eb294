import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useRelay } from '../support/relay-fixture.js';
import { authSignature, encode, makeKeys, WireClient } from './wire.js';

/*
 * Conformance of the relay to protocol/PROTOCOL.md, version 1, with a client written from the
 * document alone (./wire.ts): the frames, fields, sequences and error codes it describes, against
 * the real relay on a real Redis. Section names in the test names are the document's.
 */

const fixture = useRelay({ relayId: 'conformance.test' });
const url = () => fixture.relay.url;

describe('Connect and authenticate', () => {
  it('answers hello with a challenge, a valid auth with welcome naming the derived user ID', async () => {
    const keys = await makeKeys();
    const client = await WireClient.open(url());
    client.send({ t: 'hello', versions: [1] });
    const { header: challenge } = await client.next('challenge');
    expect(challenge).toMatchObject({ t: 'challenge', v: 1, relay: 'conformance.test' });
    expect(Buffer.from(String(challenge.nonce), 'base64url')).toHaveLength(32);
    expect(Math.abs(Number(challenge.time) - Date.now())).toBeLessThan(60_000);

    const ts = Date.now();
    client.send({
      t: 'auth',
      pk: keys.pk,
      ts,
      sig: authSignature(keys, 'conformance.test', String(challenge.nonce), ts),
    });
    const { header: welcome } = await client.next('welcome');
    expect(welcome.id).toBe(keys.id);
    // The five required numbers, and the optional fields PROTOCOL.md lists (all of them, from this relay).
    expect(Object.keys(welcome.limits as object).sort()).toEqual(
      [
        'mailboxMaxBytes',
        'mailboxMaxMessages',
        'maxBodyBytes',
        'maxTtlSeconds',
        'sendsPerSecond',
        'proximityWindowMs',
        'presenceIntervalMs',
        'heldPartsTtlSeconds',
        'strangerShares',
      ].sort(),
    );
    expect(await client.next('drained')).toMatchObject({ header: { t: 'drained' } });
    await client.close();
  });

  it('closes 4000 when hello shares no version', async () => {
    const client = await WireClient.open(url());
    client.send({ t: 'hello', versions: [99] });
    expect(await client.closedWith()).toEqual({ code: 4000, reason: 'unsupported_version' });
  });

  it('closes 4001 on a signature for another relay, and on an answer replayed on a new connection', async () => {
    const keys = await makeKeys();
    const { client: first, nonce } = await WireClient.challenged(url());
    const ts = Date.now();
    first.send({ t: 'auth', pk: keys.pk, ts, sig: authSignature(keys, 'another.relay', nonce, ts) });
    expect(await first.closedWith()).toEqual({ code: 4001, reason: 'auth_failed' });

    const { client: second } = await WireClient.challenged(url());
    // A correct answer, but to the first connection's nonce.
    second.send({ t: 'auth', pk: keys.pk, ts, sig: authSignature(keys, 'conformance.test', nonce, ts) });
    expect(await second.closedWith()).toEqual({ code: 4001, reason: 'auth_failed' });
  });

  it('closes 4002 when ts is further than the skew from the relay clock', async () => {
    const keys = await makeKeys();
    const { client, nonce } = await WireClient.challenged(url());
    const ts = Date.now() - 10 * 60_000;
    client.send({ t: 'auth', pk: keys.pk, ts, sig: authSignature(keys, 'conformance.test', nonce, ts) });
    expect(await client.closedWith()).toEqual({ code: 4002, reason: 'auth_expired' });
  });

  it('answers frames before welcome with auth_required or out_of_order, and keeps the connection', async () => {
    const keys = await makeKeys();
    const client = await WireClient.open(url());
    client.send({ t: 'send', to: keys.id, mid: 'early' }, new Uint8Array([1]));
    expect((await client.next('error')).header).toMatchObject({ code: 'auth_required', retry: false });
    // A well-formed auth, but before any challenge.
    const ts = Date.now();
    client.send({ t: 'auth', pk: keys.pk, ts, sig: authSignature(keys, 'conformance.test', 'no-nonce', ts) });
    expect((await client.next('error')).header).toMatchObject({ code: 'out_of_order', retry: false });
    const { client: same } = await WireClient.login(url(), keys);
    expect(client.closed).toBeUndefined();
    await Promise.all([client.close(), same.close()]);
  });

  it('closes the older connection of an identity with 4004 when a newer one authenticates', async () => {
    const keys = await makeKeys();
    const { client: older } = await WireClient.login(url(), keys);
    const { client: newer } = await WireClient.login(url(), keys);
    expect(await older.closedWith()).toEqual({ code: 4004, reason: 'replaced' });
    await newer.close();
  });
});

describe('Send, Deliver and ack, Receipts', () => {
  it('stores for an offline recipient, dedupes a retry, delivers the body raw, and sends the receipt', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const { client: b0 } = await WireClient.login(url(), bob);
    await b0.close();
    const { client: a } = await WireClient.login(url(), alice);
    const body = new Uint8Array(randomBytes(300));

    a.send({ t: 'send', to: bob.id, mid: 'm-1', ttl: 3600, receipt: true }, body);
    const { header: stored } = await a.next('stored');
    expect(stored).toMatchObject({ t: 'stored', to: bob.id, mid: 'm-1', dup: false });
    expect(Number(stored.exp)).toBeGreaterThan(Date.now() + 3500_000);
    a.send({ t: 'send', to: bob.id, mid: 'm-1', ttl: 3600, receipt: true }, body);
    expect((await a.next('stored')).header).toMatchObject({ mid: 'm-1', dup: true, exp: stored.exp });

    const { client: b } = await WireClient.login(url(), bob);
    const msg = await b.next('msg');
    expect(msg.header).toMatchObject({
      t: 'msg',
      id: `m:${alice.id}:m-1`,
      from: alice.id,
      mid: 'm-1',
      exp: stored.exp,
    });
    expect(Buffer.from(msg.body).equals(Buffer.from(body))).toBe(true);
    await b.next('drained');
    expect(b.frames.filter((f) => f.header.t === 'msg')).toHaveLength(0);
    b.send({ t: 'ack', id: msg.header.id });
    b.send({ t: 'ack', id: msg.header.id }); // idempotent: no answer

    const { header: receipt } = await a.next('receipt');
    expect(receipt).toMatchObject({ to: bob.id, mid: 'm-1', status: 'delivered' });
    expect(String(receipt.id)).toBe(`r:${bob.id}:m-1`);
    a.send({ t: 'ack', id: receipt.id });
    // Answers come in any order, but one connection's frames are handled in turn: a later request's
    // answer shows that the double ack was answered with nothing.
    b.send({ t: 'keys', rid: 7, ids: [alice.id] });
    expect((await b.next('keys')).header).toEqual({ t: 'keys', rid: 7, keys: { [alice.id]: alice.pk } });
    expect(b.frames.filter((f) => f.header.t === 'error')).toHaveLength(0);
    await Promise.all([a.close(), b.close()]);
  });

  it('delivers again after a reconnect what was not acknowledged, oldest first', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const { client: b0 } = await WireClient.login(url(), bob);
    const { client: a } = await WireClient.login(url(), alice);
    for (const mid of ['first', 'second']) {
      a.send({ t: 'send', to: bob.id, mid }, new Uint8Array([1, 2, 3]));
      await a.next('stored');
    }
    expect((await b0.next('msg')).header.mid).toBe('first');
    expect((await b0.next('msg')).header.mid).toBe('second');
    await b0.close();
    const { client: b } = await WireClient.login(url(), bob);
    expect((await b.next('msg')).header.mid).toBe('first');
    expect((await b.next('msg')).header.mid).toBe('second');
    await Promise.all([a.close(), b.close()]);
  });

  it('tells a sender that asked when its message expired undelivered', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const { client: b0 } = await WireClient.login(url(), bob);
    await b0.close();
    const { client: a } = await WireClient.login(url(), alice);
    a.send({ t: 'send', to: bob.id, mid: 'short', ttl: 1, receipt: true }, new Uint8Array([9]));
    const exp = Number((await a.next('stored')).header.exp);
    const { header: receipt } = await a.next('receipt');
    expect(receipt).toMatchObject({ mid: 'short', status: 'expired' });
    expect(Number(receipt.at)).toBeGreaterThanOrEqual(exp);
    const { client: b } = await WireClient.login(url(), bob);
    await b.next('drained');
    expect(b.frames.filter((f) => f.header.t === 'msg')).toHaveLength(0);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('Error codes', () => {
  it('answers each refused frame in-band with its code and keeps the connection', async () => {
    const keys = await makeKeys();
    const { client } = await WireClient.login(url(), keys);
    const cases: [Uint8Array | string, string][] = [
      ['a text message', 'malformed_frame'],
      [new Uint8Array([0]), 'malformed_frame'],
      [encode({ t: 'teleport' }), 'unknown_type'],
      [encode({ t: 'send', to: keys.id, mid: 'has space' }, new Uint8Array([1])), 'invalid_field'],
      [encode({ t: 'keys', rid: 1, ids: [keys.id] }, new Uint8Array([1])), 'invalid_field'],
      [encode({ t: 'send', to: keys.id, mid: 'big' }, new Uint8Array(65_537)), 'payload_too_large'],
      [
        encode({ t: 'send', to: 'AAAAAAAAAAAAAAAAAAAAAA', mid: 'nobody' }, new Uint8Array([1])),
        'unknown_recipient',
      ],
      [encode({ t: 'hello', versions: [1] }), 'out_of_order'],
    ];
    for (const [data, code] of cases) {
      client.ws.send(data, { binary: typeof data !== 'string' });
      const { header } = await client.next('error');
      expect(header, code).toMatchObject({ t: 'error', code, retry: false });
      expect(typeof header.message).toBe('string');
    }
    client.send({ t: 'keys', rid: 2, ids: [keys.id] });
    expect((await client.next('keys')).header.keys).toEqual({ [keys.id]: keys.pk });
    await client.close();
  });
});
