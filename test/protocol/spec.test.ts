import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeRelayFrame, LIMITS, SOCIAL_LIMITS } from '../../protocol/index.js';

/*
 * PROTOCOL.md against the codec, the way errors.test.ts holds the error table to protocol/errors.ts:
 * the frame tables list every frame type the codec knows, in the right direction, and say which
 * carry a body; the limits the document states are the codec's. A client written from the
 * document alone must find every frame it will meet.
 */

const doc = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');
const source = ['frames.ts', 'social-frames.ts', 'account-frames.ts', 'push-frames.ts']
  .map((file) => readFileSync(new URL(`../../protocol/${file}`, import.meta.url), 'utf8'))
  .join('\n');

/** The rows of the first table after `heading`, as trimmed cells (without the header rows). */
function tableAfter(heading: string): string[][] {
  const lines = doc.slice(doc.indexOf(`\n${heading}\n`)).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').map((cell) => cell.trim()));
  }
  return rows;
}

const typeOf = (row: string[]) => row[1]!.replaceAll('`', '');

function frame(header: Record<string, unknown>, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(2 + json.length + body.length);
  out.set([json.length >> 8, json.length & 0xff]);
  out.set(json, 2);
  out.set(body, 2 + json.length);
  return out;
}

/** Every frame type the codec's types name (`t: '...'`). */
const codecTypes = [...new Set([...source.matchAll(/\bt: '([a-z]+)'/g)].map((m) => m[1]!))];
const knownTo = (decode: typeof decodeClientFrame | typeof decodeRelayFrame) =>
  codecTypes.filter((t) => {
    const result = decode(frame({ t }));
    return result.ok || result.code !== 'unknown_type';
  });

const uid = 'AAAAAAAAAAAAAAAAAAAAAA';
const one = new Uint8Array([1]);

/** A valid header of each frame type, to try with and without a body. */
const CLIENT_SAMPLES: Record<string, Record<string, unknown>> = {
  hello: { t: 'hello', versions: [3] },
  auth: { t: 'auth', pk: 'A'.repeat(43), ts: 1, sig: 'A'.repeat(86) },
  send: { t: 'send', to: uid, mid: 'm' },
  ack: { t: 'ack', id: `m:${uid}:m` },
  keys: { t: 'keys', rid: 1, ids: [uid] },
  friend: { t: 'friend', rid: 1, op: 'request', id: uid },
  consent: { t: 'consent', rid: 1, id: uid, proximity: true, autoAccept: false },
  friends: { t: 'friends', rid: 1 },
  discover: { t: 'discover', rid: 1, phone: null },
  lookup: { t: 'lookup', rid: 1, phones: ['+4915112345678'] },
  presence: { t: 'presence', rid: 1, cell: '8a1fb46622dffff' },
  blind: { t: 'blind', rid: 1, sets: [{ at: uid, near: Array(7).fill(uid) }] },
  share: { t: 'share', to: uid, mid: 's', parts: 1 },
  answer: { t: 'answer', rid: 1, id: `m:${uid}:s`, accept: true },
  device: { t: 'device', rid: 1, op: 'revoke', id: uid },
  devices: { t: 'devices', rid: 1 },
  export: { t: 'export', rid: 1, ts: 1, sig: 'A'.repeat(86) },
  erase: { t: 'erase', rid: 1, ts: 1, sig: 'A'.repeat(86) },
  push: { t: 'push', rid: 1, op: 'register', kind: 'fcm', token: 'fcm-token' },
};
const RELAY_SAMPLES: Record<string, Record<string, unknown>> = {
  challenge: { t: 'challenge', v: 3, nonce: 'A'.repeat(43), relay: 'passby', time: 1 },
  welcome: {
    t: 'welcome',
    id: uid,
    limits: {
      maxBodyBytes: 1,
      maxTtlSeconds: 1,
      mailboxMaxMessages: 1,
      mailboxMaxBytes: 1,
      sendsPerSecond: 1,
    },
  },
  stored: { t: 'stored', to: uid, mid: 'm', exp: 1, dup: false },
  msg: { t: 'msg', id: `m:${uid}:m`, from: uid, mid: 'm', ts: 1, exp: 2 },
  receipt: { t: 'receipt', id: `r:${uid}:m`, to: uid, mid: 'm', status: 'rejected', at: 1 },
  drained: { t: 'drained' },
  keys: { t: 'keys', rid: 1, keys: { [uid]: null } },
  error: { t: 'error', code: 'invalid_field', message: 'x', retry: false, ref: '1' },
  ok: { t: 'ok', rid: 1 },
  friends: { t: 'friends', rid: 1, friends: [] },
  lookup: { t: 'lookup', rid: 1, ids: [null], tickets: [uid] },
  notice: { t: 'notice', id: `n:${uid}:x`, kind: 'friend', user: uid, state: 'incoming' },
  offer: { t: 'offer', id: `m:${uid}:s`, from: uid, mid: 's', ts: 1, exp: 2, parts: 1, auto: false },
  devices: {
    t: 'devices',
    rid: 1,
    devices: [{ id: uid, created: 1, seen: 0, pending: true, current: false }],
  },
  export: { t: 'export', rid: 1 },
  sent: { t: 'sent', id: `c:${uid}:m`, to: uid, mid: 'm', ts: 1, exp: 2 },
};

describe('PROTOCOL.md frame tables', () => {
  const client = tableAfter('### Client to relay');
  const relay = tableAfter('### Relay to client');

  it('list every frame type the codec takes from a client, and no other', () => {
    expect(client.map(typeOf).sort()).toEqual(knownTo(decodeClientFrame).sort());
    expect(Object.keys(CLIENT_SAMPLES).sort()).toEqual(client.map(typeOf).sort());
  });

  it('list every frame type the codec takes from the relay, and no other', () => {
    expect(relay.map(typeOf).sort()).toEqual(knownTo(decodeRelayFrame).sort());
    expect(Object.keys(RELAY_SAMPLES).sort()).toEqual(relay.map(typeOf).sort());
  });

  it('say which frames carry a body, as the codec decodes them', () => {
    const wrong: string[] = [];
    for (const [rows, samples, decode] of [
      [client, CLIENT_SAMPLES, decodeClientFrame],
      [relay, RELAY_SAMPLES, decodeRelayFrame],
    ] as const) {
      for (const row of rows) {
        const t = typeOf(row);
        const documented = row[4] !== 'none';
        const header = samples[t]!;
        const withBody = decode(frame(header, one));
        const without = decode(frame(header));
        if (withBody.ok !== documented || without.ok === documented) wrong.push(t);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('name the six body-carrying frames in "Encoding" as the tables do', () => {
    const carrying = [...client, ...relay].filter((row) => row[4] !== 'none').map(typeOf);
    expect(carrying.sort()).toEqual(['export', 'msg', 'offer', 'send', 'sent', 'share']);
    const encoding = doc.slice(doc.indexOf('## Encoding'), doc.indexOf('## Identifiers'));
    for (const t of carrying) expect(encoding, t).toContain(`\`${t}\``);
    expect(encoding).not.toContain('only send and msg');
  });

  it('answer every v2 request of the "Version 2" table in the client table', () => {
    const requests = tableAfter('## Version 2: friends, consent, discovery and proximity').map(typeOf);
    expect(requests.length).toBeGreaterThan(6);
    for (const t of requests) expect(client.map(typeOf), t).toContain(t);
  });
});

describe('PROTOCOL.md limits', () => {
  const identifiers = tableAfter('## Identifiers and limits');
  const row = (name: string) =>
    identifiers
      .find((r) => r[1] === name)
      ?.slice(2)
      .join(' ') ?? '';

  it('states the ranges the codec enforces', () => {
    expect(row('share parts (v2)')).toContain(`1-${SOCIAL_LIMITS.maxShareParts}`);
    expect(row('keys request')).toContain(`1-${LIMITS.maxKeysPerRequest}`);
    expect(row('ack batch (v3)')).toContain(`1-${LIMITS.maxAcksPerFrame}`);
    expect(row('body')).toContain(`1-${LIMITS.maxBodyBytes}`);
    expect(row('ttl')).toContain(`1-${LIMITS.maxTtlSeconds}`);
    expect(row('token sets (v2)')).toContain(`1-${SOCIAL_LIMITS.maxTokenSets}`);
  });

  it('defines an offer entry ID, notice IDs and the canonical last character of a user ID', () => {
    expect(row('entry ID (`id`)')).toContain('an offer');
    expect(row('entry ID (`id`)')).toContain('`n:<user ID>:<tag>`');
    expect(row('user ID')).toContain('`A Q g w`');
  });
});

describe('PROTOCOL.md where the relay once disagreed', () => {
  const section = (heading: string) => {
    const start = doc.indexOf(`\n${heading}\n`);
    return doc.slice(start, doc.indexOf('\n#', start + heading.length + 2));
  };

  it('lists unknown_recipient for a friend request, in the error table and the friend section', () => {
    const errorRow = tableAfter('## Error codes').find((r) => r[1] === '`unknown_recipient`');
    expect(errorRow?.[4]).toContain('`friend request`');
    expect(section('### Friend requests')).toContain('`unknown_recipient`');
  });

  it('says a declined request stays outgoing for the requester', () => {
    expect(section('### Friend requests')).toMatch(/stays\s+`outgoing` in theirs/);
  });

  it('defines "once per encounter", the acks of notices and offers, and the discovery key', () => {
    expect(section('### Proximity')).toContain('Once per encounter:');
    expect(section('### Notices')).toContain('acknowledged\nwith `ack`');
    expect(section('## Deliver and ack')).toContain('a `notice`\n  (v2) and an `offer` (v2)');
    expect(section('### Phone numbers')).toContain('is not\ndecoded from hex or base64');
  });

  it('names client-sdk/CRYPTO.md as the normative payload format, and CRYPTO.md says it is', () => {
    expect(section('## Payloads (the end-to-end format)')).toContain('**client-sdk/CRYPTO.md**');
    const crypto = readFileSync(new URL('../../client-sdk/CRYPTO.md', import.meta.url), 'utf8');
    expect(crypto).toContain('## The envelope (normative)');
    expect(crypto).toContain('## Payloads (normative)');
  });
});
