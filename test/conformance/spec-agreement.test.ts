import { describe, expect, it } from 'vitest';
import { useRelay } from '../support/relay-fixture.js';
import { authSignature, encode, type Header, type Keys, makeKeys, request, WireClient } from './wire.js';

/*
 * Conformance to protocol/PROTOCOL.md on the points where a client written from the document alone
 * once found the relay saying something else: canonical user IDs, a badly encoded auth answer,
 * the `ref` of every refusal, friend requests (to an unknown ID, and declined). Client of ./wire.ts.
 */

const fixture = useRelay({ relayId: 'conformance.test' });
const url = () => fixture.relay.url;

async function loginV2(keys: Keys): Promise<WireClient> {
  const { client, version } = await WireClient.login(url(), keys, [2, 1]);
  expect(version).toBe(2);
  await client.next('drained');
  return client;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same 16 bytes as `id`, spelled with a stray low bit in the last character: a lenient
 * decoder (Node's Buffer among them) reads it as `id`; "Conventions" says base64url is canonical.
 */
function strayBits(id: string): string {
  return id.slice(0, 21) + ALPHABET[ALPHABET.indexOf(id[21]!) | 1];
}

describe('Identifiers and limits: a user ID is canonical base64url', () => {
  it('answers invalid_field, never unknown_recipient or a null key, for an ID with stray low bits', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const b = await loginV2(bob);
    const a = await loginV2(alice);
    const stray = strayBits(bob.id);
    expect(Buffer.from(stray, 'base64url').equals(Buffer.from(bob.id, 'base64url'))).toBe(true);

    a.send({ t: 'send', to: stray, mid: 'stray-1' }, new Uint8Array([1]));
    expect((await a.next('error')).header).toMatchObject({ code: 'invalid_field', ref: 'stray-1' });
    a.send({ t: 'keys', rid: 5, ids: [stray] });
    expect((await a.next('error')).header).toMatchObject({ code: 'invalid_field', ref: '5' });
    expect(await request(a, { t: 'friend', op: 'request', id: stray })).toMatchObject({
      t: 'error',
      code: 'invalid_field',
    });
    expect(await request(a, { t: 'consent', id: stray, proximity: true, autoAccept: false })).toMatchObject({
      t: 'error',
      code: 'invalid_field',
    });
    a.send({ t: 'share', to: stray, mid: 'stray-s', parts: 1 }, new Uint8Array([1]));
    expect((await a.next('error')).header).toMatchObject({ code: 'invalid_field', ref: 'stray-s' });
    // The canonical spelling of the same bytes is the user.
    a.send({ t: 'keys', rid: 6, ids: [bob.id] });
    expect((await a.next('keys')).header.keys).toEqual({ [bob.id]: bob.pk });
    expect(a.closed).toBeUndefined();
    await Promise.all([a.close(), b.close()]);
  });
});

describe('Connect and authenticate: a badly encoded answer fails and spends the nonce', () => {
  const answers: [string, (keys: Keys, nonce: string, ts: number) => Record<string, unknown>][] = [
    ['a signature one character short', (k, n, ts) => ({ pk: k.pk, ts, sig: sigFor(k, n, ts).slice(1) })],
    [
      'a signature with a character outside base64url',
      (k, n, ts) => ({ pk: k.pk, ts, sig: `!${sigFor(k, n, ts).slice(1)}` }),
    ],
    ['a signature with stray low bits', (k, n, ts) => ({ pk: k.pk, ts, sig: strayLast(sigFor(k, n, ts)) })],
    ['a public key of the wrong length', (k, n, ts) => ({ pk: `${k.pk}AAAA`, ts, sig: sigFor(k, n, ts) })],
    ['a signature that is not a string', (k, _n, ts) => ({ pk: k.pk, ts, sig: 64 })],
  ];
  let keysForSig: Keys;
  const sigFor = (keys: Keys, nonce: string, ts: number) =>
    authSignature(keys, 'conformance.test', nonce, ts);
  /** The last character with its low bit set: 64 bytes leave 4 stray bits in 86 characters. */
  const strayLast = (text: string) => text.slice(0, -1) + ALPHABET[ALPHABET.indexOf(text.at(-1)!) | 1];

  for (const [what, answer] of answers) {
    it(`closes 4001 on ${what}, and a correct answer to the same nonce right after gets no welcome`, async () => {
      keysForSig ??= await makeKeys();
      const keys = keysForSig;
      const { client, nonce } = await WireClient.challenged(url());
      const ts = Date.now();
      client.send({ t: 'auth', ...answer(keys, nonce, ts) });
      client.send({ t: 'auth', pk: keys.pk, ts, sig: sigFor(keys, nonce, ts) });
      expect(await client.closedWith()).toEqual({ code: 4001, reason: 'auth_failed' });
      expect(client.frames.map((f) => f.header.t)).toEqual([]);
    });
  }
});

describe('Error codes: a refusal names the frame it answers', () => {
  it('carries the rid of a refused keys frame, also when the refusal is for its body or a field', async () => {
    const keys = await makeKeys();
    const { client } = await WireClient.login(url(), keys, [2, 1]);
    const cases: [Uint8Array, string][] = [
      [encode({ t: 'keys', rid: 11, ids: [keys.id] }, new Uint8Array([1])), '11'],
      [encode({ t: 'keys', rid: 12, ids: [] }), '12'],
      [encode({ t: 'keys', rid: 13, ids: [keys.id], extra: true }), '13'],
      [encode({ t: 'friends', rid: 14 }, new Uint8Array([1])), '14'],
      [encode({ t: 'friend', rid: 15, op: 'request', id: keys.id }, new Uint8Array([1])), '15'],
    ];
    for (const [data, ref] of cases) {
      client.ws.send(data);
      const { header } = await client.next('error');
      expect(header, `ref ${ref}`).toMatchObject({ code: 'invalid_field', ref });
    }
    await client.close();
  });

  it('carries the rid or mid of a request refused before welcome', async () => {
    const keys = await makeKeys();
    const client = await WireClient.open(url());
    const early: [Header, string][] = [
      [{ t: 'keys', rid: 21, ids: [keys.id] }, '21'],
      [{ t: 'friends', rid: 22 }, '22'],
      [{ t: 'friend', rid: 23, op: 'request', id: keys.id }, '23'],
      [{ t: 'lookup', rid: 24, phones: ['+4915112345678'] }, '24'],
    ];
    for (const [header, ref] of early) {
      client.send(header);
      expect((await client.next('error')).header, header.t).toMatchObject({ code: 'auth_required', ref });
    }
    client.send({ t: 'share', to: keys.id, mid: 'early-share', parts: 1 }, new Uint8Array([1]));
    expect((await client.next('error')).header).toMatchObject({ code: 'auth_required', ref: 'early-share' });
    await client.close();
  });
});

describe('Version 2: friend requests', () => {
  it('answers a friend request to an ID nobody authenticated with unknown_recipient and its rid', async () => {
    const keys = await makeKeys();
    const client = await loginV2(keys);
    const nobody = (await makeKeys()).id;
    expect(await request(client, { t: 'friend', op: 'request', id: nobody })).toMatchObject({
      t: 'error',
      code: 'unknown_recipient',
      retry: false,
    });
    await client.close();
  });

  it('keeps a declined request outgoing for the requester, who is not told; a request back makes friends', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const [a, b] = await Promise.all([loginV2(alice), loginV2(bob)]);
    expect(await request(a, { t: 'friend', op: 'request', id: bob.id })).toMatchObject({ t: 'ok' });
    const incoming = await b.next('notice');
    b.send({ t: 'ack', id: incoming.header.id });
    expect(await request(b, { t: 'friend', op: 'decline', id: alice.id })).toMatchObject({ t: 'ok' });

    expect((await request(a, { t: 'friends' })).friends).toEqual([
      { id: bob.id, state: 'outgoing', proximity: false, autoAccept: false },
    ]);
    expect((await request(b, { t: 'friends' })).friends).toEqual([]);
    // Asking again changes nothing and tells bob nothing; declining twice finds no request.
    expect(await request(a, { t: 'friend', op: 'request', id: bob.id })).toMatchObject({ t: 'ok' });
    expect(await request(b, { t: 'friend', op: 'decline', id: alice.id })).toMatchObject({
      t: 'error',
      code: 'no_request',
    });
    expect(await request(b, { t: 'friend', op: 'accept', id: alice.id })).toMatchObject({
      t: 'error',
      code: 'no_request',
    });
    expect(a.frames.filter((f) => f.header.t === 'notice')).toEqual([]);
    expect(b.frames.filter((f) => f.header.t === 'notice')).toEqual([]);

    // Bob changes his mind: alice's request still stands, so they are friends at once.
    expect(await request(b, { t: 'friend', op: 'request', id: alice.id })).toMatchObject({ t: 'ok' });
    const told = await a.next('notice');
    expect(told.header).toMatchObject({ kind: 'friend', user: bob.id, state: 'friend' });
    expect((await request(a, { t: 'friends' })).friends).toMatchObject([{ id: bob.id, state: 'friend' }]);
    expect((await request(b, { t: 'friends' })).friends).toMatchObject([{ id: alice.id, state: 'friend' }]);
    await Promise.all([a.close(), b.close()]);
  });

  it('lets the requester withdraw a declined request, leaving neither side a link', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const [a, b] = await Promise.all([loginV2(alice), loginV2(bob)]);
    await request(a, { t: 'friend', op: 'request', id: bob.id });
    expect(await request(b, { t: 'friend', op: 'decline', id: alice.id })).toMatchObject({ t: 'ok' });
    expect(await request(a, { t: 'friend', op: 'remove', id: bob.id })).toMatchObject({ t: 'ok' });
    expect((await request(a, { t: 'friends' })).friends).toEqual([]);
    expect((await request(b, { t: 'friends' })).friends).toEqual([]);
    expect(await request(b, { t: 'friend', op: 'remove', id: alice.id })).toMatchObject({
      t: 'error',
      code: 'not_friends',
    });
    await Promise.all([a.close(), b.close()]);
  });
});
