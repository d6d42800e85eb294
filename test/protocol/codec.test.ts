import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ClientFrame,
  decodeClientFrame,
  decodeRelayFrame,
  encodeFrame,
  encodeFrameHead,
  fromBase64url,
  LIMITS,
  type RelayFrame,
  toBase64url,
} from '../../protocol/index.js';

const uid = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('frame codec', () => {
  it('round-trips every client frame type', () => {
    const frames: ClientFrame[] = [
      { t: 'hello', versions: [1] },
      { t: 'auth', pk: 'A'.repeat(43), ts: 1_700_000_000_000, sig: 'B'.repeat(86) },
      { t: 'send', to: uid, mid: 'm-1', ttl: 60, receipt: true, body: new Uint8Array([1, 2, 3]) },
      { t: 'ack', id: `m:${uid}:m-1` },
      { t: 'ack', ids: [`m:${uid}:m-1`, `r:${uid}:m-2`] },
      { t: 'keys', rid: 7, ids: [uid] },
    ];
    for (const frame of frames) expect(decodeClientFrame(encodeFrame(frame))).toEqual({ ok: true, frame });
  });

  it('round-trips every relay frame type', () => {
    const frames: RelayFrame[] = [
      { t: 'challenge', v: 1, nonce: 'N'.repeat(43), relay: 'passby', time: 1 },
      {
        t: 'welcome',
        id: uid,
        limits: {
          maxBodyBytes: 1,
          maxTtlSeconds: 2,
          mailboxMaxMessages: 3,
          mailboxMaxBytes: 4,
          sendsPerSecond: 5,
        },
      },
      { t: 'stored', to: uid, mid: 'a', exp: 5, dup: false },
      { t: 'stored', items: [{ to: uid, mid: 'a', exp: 5, dup: false }] },
      { t: 'msg', id: `m:${uid}:a`, from: uid, mid: 'a', ts: 1, exp: 2, body: new Uint8Array([9]) },
      { t: 'receipt', id: `r:${uid}:a`, to: uid, mid: 'a', status: 'expired', at: 3 },
      { t: 'drained' },
      { t: 'keys', rid: 1, keys: { [uid]: null } },
      { t: 'error', code: 'rate_limited', message: 'slow down', retry: true, ref: 'a' },
    ];
    for (const frame of frames) expect(decodeRelayFrame(encodeFrame(frame))).toEqual({ ok: true, frame });
  });

  it('writes the same header as JSON of the frame without its body, for the frames it spells out', () => {
    // The message path's IDs are written without escaping: their alphabet needs none, and callers
    // pass them validated. Every character of that alphabet is here.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
    const body = new Uint8Array([1, 2]);
    const frames: (ClientFrame | RelayFrame)[] = [
      { t: 'msg', id: `m:${uid}:${alphabet}`, from: uid, mid: alphabet, ts: 1, exp: 8.64e15, body },
      { t: 'stored', to: uid, mid: 'a', exp: 5, dup: true },
      {
        t: 'stored',
        items: [
          { to: uid, mid: alphabet, exp: 5, dup: false },
          { to: uid, mid: 'b', exp: 6, dup: true },
        ],
      },
      { t: 'ack', id: `r:${uid}:${alphabet}` },
      { t: 'ack', ids: [`m:${uid}:a`, `n:${uid}:b`] },
      { t: 'ack', ids: [`m:${uid}:a`] },
      { t: 'send', to: uid, mid: 'm', body },
      { t: 'send', to: uid, mid: 'm', ttl: 60, receipt: false, offer: 'sh', body },
    ];
    for (const frame of frames) {
      const bytes = encodeFrame(frame);
      const length = (bytes[0]! << 8) | bytes[1]!;
      const { body: _, ...rest } = frame as { body?: Uint8Array };
      expect(JSON.parse(new TextDecoder().decode(bytes.subarray(2, 2 + length)))).toEqual(rest);
      expect(bytes.length).toBe(2 + length + ('body' in frame ? frame.body.length : 0));
    }
  });

  it('refuses version 3 batches of the wrong shape', () => {
    const id = `m:${uid}:a`;
    const raw = (h: object) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      return new Uint8Array([json.length >> 8, json.length & 0xff, ...json]);
    };
    const client = (h: object) => decodeClientFrame(raw(h));
    for (const ids of [[], Array(LIMITS.maxAcksPerFrame + 1).fill(id), ['x'], [id, 7], id]) {
      expect(client({ t: 'ack', ids })).toMatchObject({ ok: false, code: 'invalid_field' });
    }
    expect(client({ t: 'ack', ids: Array(LIMITS.maxAcksPerFrame).fill(id) }).ok).toBe(true);
    expect(client({ t: 'ack', id, ids: [id] })).toMatchObject({ ok: false, code: 'invalid_field' });
    const relay = (h: object) => decodeRelayFrame(raw(h));
    const item = { to: uid, mid: 'a', exp: 5, dup: false };
    for (const items of [
      [],
      Array(LIMITS.maxStoredPerFrame + 1).fill(item),
      [{ ...item, mid: '' }],
      [{ ...item, dup: 'no' }],
      [null],
      item,
    ]) {
      expect(relay({ t: 'stored', items })).toMatchObject({ ok: false, code: 'invalid_field' });
    }
  });

  it('writes the frame into the bytes the allocator gives, every one of them', () => {
    const sizes: number[] = [];
    const frame: RelayFrame = {
      t: 'msg',
      id: `m:${uid}:a`,
      from: uid,
      mid: 'a',
      ts: 1,
      exp: 2,
      body: new Uint8Array([7]),
    };
    const bytes = encodeFrame(frame, (size) => {
      sizes.push(size);
      return new Uint8Array(size).fill(0xee);
    });
    expect(sizes).toEqual([bytes.length]);
    expect(bytes.includes(0xee)).toBe(false);
    expect(decodeRelayFrame(bytes)).toEqual({ ok: true, frame });
  });

  it('writes as the head of a frame exactly the bytes before its body', () => {
    const body = Uint8Array.from({ length: 9000 }, (_, i) => i & 0xff);
    const frames: Extract<RelayFrame, { t: 'msg' }>[] = [
      { t: 'msg', id: `m:${uid}:big`, from: uid, mid: 'big', ts: 3, exp: 4, body },
      { t: 'msg', id: `m:${uid}:none`, from: uid, mid: 'none', ts: 3, exp: 4, body: new Uint8Array(0) },
    ];
    for (const frame of frames) {
      const head = encodeFrameHead(frame);
      const whole = encodeFrame(frame);
      const joined = new Uint8Array(head.length + frame.body.length);
      joined.set(head);
      joined.set(frame.body, head.length);
      expect(joined).toEqual(whole);
    }
  });

  it('carries the body as raw bytes after the header, not base64', () => {
    const body = new Uint8Array(1000).fill(0xab);
    const bytes = encodeFrame({ t: 'send', to: uid, mid: 'raw', body });
    const headerLength = (bytes[0]! << 8) | bytes[1]!;
    expect(bytes.length).toBe(2 + headerLength + 1000);
    expect(bytes.subarray(2 + headerLength).every((b) => b === 0xab)).toBe(true);
  });

  it('refuses unknown fields from clients and a body on frames that carry none', () => {
    const extra = new TextEncoder().encode('{"t":"ack","id":"m:AAAAAAAAAAAAAAAAAAAAAA:x","x":1}');
    const frame = new Uint8Array([0, extra.length, ...extra]);
    expect(decodeClientFrame(frame)).toMatchObject({ ok: false, code: 'invalid_field' });
    const withBody = new Uint8Array([...encodeFrame({ t: 'hello', versions: [1] }), 1]);
    expect(decodeClientFrame(withBody)).toMatchObject({ ok: false, code: 'invalid_field' });
  });

  it('names the payload limit when a body is one byte too long', () => {
    const bytes = encodeFrame({
      t: 'send',
      to: uid,
      mid: 'big',
      body: new Uint8Array(LIMITS.maxBodyBytes + 1),
    });
    expect(decodeClientFrame(bytes)).toMatchObject({ ok: false, code: 'payload_too_large', ref: 'big' });
  });

  it('never throws on arbitrary bytes, and answers only with codes from the table', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const client = decodeClientFrame(bytes);
        const relay = decodeRelayFrame(bytes);
        for (const r of [client, relay])
          if (!r.ok)
            expect(['malformed_frame', 'unknown_type', 'invalid_field', 'payload_too_large']).toContain(
              r.code,
            );
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutated valid frames', () => {
    const valid = encodeFrame({ t: 'send', to: uid, mid: 'm', ttl: 5, body: new Uint8Array([1, 2]) });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (edits) => {
          const bytes = valid.slice();
          for (const [i, b] of edits) bytes[i] = b;
          const result = decodeClientFrame(bytes);
          expect(typeof result.ok).toBe('boolean');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('base64url', () => {
  it('round-trips any bytes and refuses what is not canonical base64url', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(fromBase64url(toBase64url(bytes))).toEqual(bytes);
      }),
    );
    expect(toBase64url(new Uint8Array([251, 255]))).toBe('-_8');
    expect(fromBase64url('a+b/')).toBeNull();
    expect(fromBase64url('abcde')).toBeNull();
    expect(fromBase64url('-_9')).toBeNull();
  });

  it('encodes long inputs (a file chunk) exactly as short ones are, every length near the switch', () => {
    const bytes = Uint8Array.from({ length: 65_536 + 3 }, (_, i) => (i * 151 + (i >> 8)) & 0xff);
    for (const length of [1021, 1022, 1023, 1024, 1025, 1026, 8192 * 3, 8192 * 3 + 1, 65_536, 65_538]) {
      const input = bytes.subarray(0, length);
      expect(toBase64url(input)).toBe(Buffer.from(input).toString('base64url'));
      expect(fromBase64url(toBase64url(input))).toEqual(input);
    }
  });
});
