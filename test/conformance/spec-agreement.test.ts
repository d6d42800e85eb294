import { latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { useRelay } from '../support/relay-fixture.js';
import { authSignature, encode, type Header, type Keys, makeKeys, request, WireClient } from './wire.js';

/*
 * Conformance to protocol/PROTOCOL.md on the points where a client written from the document alone
 * once found the relay saying something else: canonical user IDs, a badly encoded auth answer,
 * the `ref` of every refusal, friend requests (to an unknown ID, and declined); and on what it
 * once left unsaid: the entry ID of an offer, the range of `parts`, acks of notices and offers,
 * "once per encounter". Client of ./wire.ts.
 */

const fixture = useRelay({ relayId: 'conformance.test', presenceIntervalMs: 0 });
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

describe('Identifiers and limits: a blind-mode token is canonical base64url', () => {
  it('answers invalid_field for a token with stray low bits, and takes its canonical spelling', async () => {
    const keys = await makeKeys();
    const client = await loginV2(keys);
    const token = Buffer.alloc(16, 7).toString('base64url');
    const set = (at: string) => ({ at, near: Array(7).fill(token) });
    expect(await request(client, { t: 'blind', sets: [set(strayBits(token))] })).toMatchObject({
      t: 'error',
      code: 'invalid_field',
    });
    expect(await request(client, { t: 'blind', sets: [set(token)] })).toMatchObject({ t: 'ok' });
    await client.close();
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

describe('Version 2: shares, notices and encounters', () => {
  it('names an offer m:<sender>:<share mid>, takes parts 1-4096, and rejects an offer that is acked', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const [a, b] = await Promise.all([loginV2(alice), loginV2(bob)]);
    a.send({ t: 'send', to: bob.id, mid: 'p1', offer: 'S1' }, new Uint8Array([1, 2]));
    expect((await a.next('stored')).header).toMatchObject({ mid: 'p1', dup: false });
    for (const parts of [0, 4097, 1.5]) {
      a.send({ t: 'share', to: bob.id, mid: 'S1', parts }, new Uint8Array([9]));
      expect((await a.next('error')).header, `parts ${parts}`).toMatchObject({
        code: 'invalid_field',
        ref: 'S1',
      });
    }
    a.send({ t: 'share', to: bob.id, mid: 'S1', parts: 2 }, new Uint8Array([9]));
    expect((await a.next('error')).header).toMatchObject({
      code: 'share_incomplete',
      ref: 'S1',
      retry: true,
    });
    a.send({ t: 'share', to: bob.id, mid: 'S1', parts: 1, receipt: true }, new Uint8Array([9, 9]));
    expect((await a.next('stored')).header).toMatchObject({ mid: 'S1', dup: false });

    const offer = await b.next('offer');
    expect(offer.header).toMatchObject({
      id: `m:${alice.id}:S1`,
      from: alice.id,
      mid: 'S1',
      parts: 1,
      auto: false,
    });
    expect([...offer.body]).toEqual([9, 9]);
    b.send({ t: 'ack', id: offer.header.id });
    expect((await a.next('receipt')).header).toMatchObject({
      id: `r:${bob.id}:S1`,
      to: bob.id,
      mid: 'S1',
      status: 'rejected',
    });
    expect(await request(b, { t: 'answer', id: offer.header.id, accept: true })).toMatchObject({
      code: 'unknown_offer',
    });
    expect(b.frames.filter((f) => f.header.t === 'msg')).toEqual([]);
    await Promise.all([a.close(), b.close()]);
  });

  it('delivers the parts of an answered offer as messages, with no ack needed for the offer', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const [a, b] = await Promise.all([loginV2(alice), loginV2(bob)]);
    for (const mid of ['q1', 'q2']) {
      a.send({ t: 'send', to: bob.id, mid, offer: 'S2' }, new Uint8Array([3]));
      await a.next('stored', (f) => f.header.mid === mid);
    }
    a.send({ t: 'share', to: bob.id, mid: 'S2', parts: 2 }, new Uint8Array([4]));
    await a.next('stored', (f) => f.header.mid === 'S2');
    const offer = await b.next('offer');
    expect(offer.header.id).toBe(`m:${alice.id}:S2`);
    expect(await request(b, { t: 'answer', id: offer.header.id, accept: true })).toMatchObject({ t: 'ok' });
    const parts = [await b.next('msg'), await b.next('msg')].map((f) => f.header);
    expect(parts).toMatchObject([
      { id: `m:${alice.id}:q1`, mid: 'q1' },
      { id: `m:${alice.id}:q2`, mid: 'q2' },
    ]);
    for (const part of parts) b.send({ t: 'ack', id: part.id });
    // One connection's frames are handled in turn: once this answers, the acks went to the store.
    await request(b, { t: 'friends' });
    await b.close();
    // After a reconnect nothing of the share comes again: the answer removed the offer.
    const again = await loginV2(bob);
    expect(again.frames.filter((f) => f.header.t !== 'drained')).toEqual([]);
    await Promise.all([a.close(), again.close()]);
  });

  it('tells two friends in range once per encounter, and takes the acks of the notices', async () => {
    const [alice, bob] = await Promise.all([makeKeys(), makeKeys()]);
    const [a, b] = await Promise.all([loginV2(alice), loginV2(bob)]);
    await request(a, { t: 'friend', op: 'request', id: bob.id });
    const asked = await b.next('notice');
    b.send({ t: 'ack', id: asked.header.id });
    await request(b, { t: 'friend', op: 'accept', id: alice.id });
    const accepted = await a.next('notice');
    a.send({ t: 'ack', id: accepted.header.id });
    for (const [client, other] of [
      [a, bob],
      [b, alice],
    ] as const) {
      await request(client, { t: 'consent', id: other.id, proximity: true, autoAccept: false });
    }
    const cell = latLngToCell(48.8584, 2.2945, 10);
    expect(await request(a, { t: 'presence', cell })).toMatchObject({ t: 'ok' });
    expect(await request(b, { t: 'presence', cell })).toMatchObject({ t: 'ok' });
    const nearby = await a.next('notice');
    expect(nearby.header).toMatchObject({ kind: 'nearby', user: bob.id });
    expect(String(nearby.header.id)).toMatch(new RegExp(`^n:${bob.id}:`));
    a.send({ t: 'ack', id: nearby.header.id });

    // More matches within the encounter: no more notices. A message filed after them comes next.
    expect(await request(a, { t: 'presence', cell })).toMatchObject({ t: 'ok' });
    expect(await request(b, { t: 'presence', cell })).toMatchObject({ t: 'ok' });
    b.send({ t: 'send', to: alice.id, mid: 'after' }, new Uint8Array([1]));
    await b.next('stored');
    const next = await a.nextWhere((f) => f.header.t === 'msg' || f.header.t === 'notice');
    expect(next.header).toMatchObject({ t: 'msg', mid: 'after' });
    a.send({ t: 'ack', id: next.header.id });
    await request(a, { t: 'friends' });
    await a.close();
    const again = await loginV2(alice);
    expect(again.frames.filter((f) => f.header.t !== 'drained')).toEqual([]);
    await Promise.all([again.close(), b.close()]);
  });
});
