import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeRelayFrame } from '../../protocol/index.js';
import { rawHeader } from '../support/fuzz-encode.js';

/* What the fuzzers found besides the crash, each pinned by the frame that showed it. */

const UID = 'AAAAAAAAAAAAAAAAAAAAAA';
const LIMITS_JSON =
  '"maxBodyBytes":1,"maxTtlSeconds":2,"mailboxMaxMessages":3,"mailboxMaxBytes":4,"sendsPerSecond":5';

describe('decoder findings of the fuzzers', () => {
  it('refuses -0 where an integer is due, since it re-encodes as 0', () => {
    expect(decodeRelayFrame(rawHeader('{"t":"ok","rid":-0}'))).toMatchObject({
      ok: false,
      code: 'invalid_field',
    });
    expect(decodeClientFrame(rawHeader('{"t":"friends","rid":-0}'))).toMatchObject({
      ok: false,
      code: 'invalid_field',
    });
    const auth = `{"t":"auth","pk":"${'P'.repeat(43)}","ts":-0,"sig":"${'S'.repeat(86)}"}`;
    expect(decodeClientFrame(rawHeader(auth))).toMatchObject({ ok: false, code: 'invalid_field' });
    expect(decodeRelayFrame(rawHeader('{"t":"ok","rid":0}'))).toEqual({
      ok: true,
      frame: { t: 'ok', rid: 0 },
    });
  });

  it('hands on exactly the five limits of a welcome, whatever else the object holds', () => {
    const json = `{"t":"welcome","id":"${UID}","limits":{${LIMITS_JSON},"__proto__":{"x":1},"extra":true}}`;
    const decoded = decodeRelayFrame(rawHeader(json));
    if (!decoded.ok || decoded.frame.t !== 'welcome') throw new Error(JSON.stringify(decoded));
    expect(Object.keys(decoded.frame.limits).sort()).toEqual([
      'mailboxMaxBytes',
      'mailboxMaxMessages',
      'maxBodyBytes',
      'maxTtlSeconds',
      'sendsPerSecond',
    ]);
    expect(Object.getPrototypeOf(decoded.frame.limits)).toBe(Object.prototype);
  });

  it('gives the keys reply a map in which only the requested IDs are found', () => {
    const decoded = decodeRelayFrame(rawHeader(`{"t":"keys","rid":1,"keys":{"${UID}":null}}`));
    if (!decoded.ok || decoded.frame.t !== 'keys') throw new Error(JSON.stringify(decoded));
    expect(decoded.frame.keys[UID]).toBeNull();
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty'])
      expect(decoded.frame.keys[name]).toBeUndefined();
  });

  it('refuses a notice whose id is not an n: entry ID (the client acks it and keeps it as seen)', () => {
    const notice = (id: string) =>
      decodeRelayFrame(
        rawHeader(JSON.stringify({ t: 'notice', id, kind: 'contact', user: UID, ticket: null })),
      );
    expect(notice(`n:${UID}:contact-1`)).toMatchObject({ ok: true });
    for (const id of ['', 'x', '../../etc', `m:${UID}:a`, `n:${UID}:`, `n:${UID}:a b`, '\u0000'])
      expect(notice(id)).toMatchObject({ ok: false, code: 'invalid_field' });
  });
});
