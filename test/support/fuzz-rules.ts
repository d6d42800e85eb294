import { type ClientFrame, ERRORS, type RelayFrame } from '../../protocol/index.js';

/*
 * The rules of each frame type, written again from PROTOCOL.md rather than taken from the
 * decoder, so the fuzzer can tell a decoder that accepts too much. A decoded frame must have
 * exactly the fields of one shape of its type, each passing its check.
 */

type Check = (value: unknown) => boolean;

interface Shape {
  required: ReadonlyMap<string, Check>;
  optional: ReadonlyMap<string, Check>;
}

const int =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max && !Object.is(v, -0);
const text =
  (pattern: RegExp): Check =>
  (v) =>
    typeof v === 'string' && pattern.test(v);
const oneOf =
  (...values: unknown[]): Check =>
  (v) =>
    values.includes(v);
const bool: Check = (v) => typeof v === 'boolean';
const nullable =
  (check: Check): Check =>
  (v) =>
    v === null || check(v);
const list =
  (min: number, max: number, each: Check): Check =>
  (v) =>
    Array.isArray(v) && v.length >= min && v.length <= max && v.every(each);
const body: Check = (v) => v instanceof Uint8Array && v.length >= 1 && v.length <= 65_536;
const anyText: Check = (v) => typeof v === 'string';

// PROTOCOL.md: IDs and tokens are canonical base64url of 16 bytes (the last character carries 2 bits).
const uid = text(/^[A-Za-z0-9_-]{21}[AQgw]$/);
const mid = text(/^[A-Za-z0-9_-]{1,64}$/);
const entry = text(/^[mrnc]:[A-Za-z0-9_-]{21}[AQgw]:[A-Za-z0-9_-]{1,64}$/);
const rid = int(0, 2 ** 31);
const time = int(0, 8.64e15);
const count = int(0, Number.MAX_SAFE_INTEGER);
const token = text(/^[A-Za-z0-9_-]{21}[AQgw]$/);
const phone = text(/^\+[1-9]\d{7,14}$/);
const key43: Check = (v) => typeof v === 'string' && v.length === 43;
const sig86: Check = (v) => typeof v === 'string' && v.length === 86;

/** A nested object with exactly these fields. */
const record = (fields: Record<string, Check>): Check => {
  const s = shape(fields);
  return (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && fits(v, s);
};

function shape(required: Record<string, Check>, optional: Record<string, Check> = {}): Shape {
  return { required: new Map(Object.entries(required)), optional: new Map(Object.entries(optional)) };
}

function fits(frame: object, s: Shape): boolean {
  for (const key of Object.keys(frame)) if (!s.required.has(key) && !s.optional.has(key)) return false;
  const f = frame as Record<string, unknown>;
  for (const [key, check] of s.required) if (!Object.hasOwn(f, key) || !check(f[key])) return false;
  for (const [key, check] of s.optional) if (Object.hasOwn(f, key) && !check(f[key])) return false;
  return true;
}

const noticeId: Check = (v) => entry(v) && (v as string).startsWith('n:');
const stored = { to: uid, mid, exp: time, dup: bool };
const limits = record({
  maxBodyBytes: count,
  maxTtlSeconds: count,
  mailboxMaxMessages: count,
  mailboxMaxBytes: count,
  sendsPerSecond: count,
});
const keysObject: Check = (v) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.entries(v).every(([id, pk]) => uid(id) && nullable(key43)(pk));

const CLIENT = new Map<string, Shape[]>([
  ['hello', [shape({ t: anyText, versions: list(1, 16, int(1, 65_535)) })]],
  [
    'auth',
    [
      shape({
        t: anyText,
        pk: key43,
        ts: int(0, Number.MAX_SAFE_INTEGER),
        sig: sig86,
      }),
      shape(
        { t: anyText, dk: key43, ts: int(0, Number.MAX_SAFE_INTEGER), sig: sig86 },
        { pk: key43, cert: sig86 },
      ),
    ],
  ],
  [
    'send',
    [shape({ t: anyText, to: uid, mid, body }, { ttl: int(1, 2_592_000), receipt: bool, offer: mid })],
  ],
  ['ack', [shape({ t: anyText, id: entry }), shape({ t: anyText, ids: list(1, 64, entry) })]],
  ['keys', [shape({ t: anyText, rid, ids: list(1, 64, uid) })]],
  [
    'share',
    [
      shape(
        { t: anyText, to: uid, mid, parts: int(1, 4096), body },
        { ttl: int(1, 2_592_000), receipt: bool },
      ),
    ],
  ],
  [
    'answer',
    [shape({ t: anyText, rid, id: (v) => entry(v) && (v as string).startsWith('m:'), accept: bool })],
  ],
  ['friend', [shape({ t: anyText, rid, op: oneOf('request', 'accept', 'decline', 'remove'), id: uid })]],
  ['consent', [shape({ t: anyText, rid, id: uid, proximity: bool, autoAccept: bool })]],
  ['friends', [shape({ t: anyText, rid })]],
  ['discover', [shape({ t: anyText, rid, phone: nullable(phone) })]],
  ['lookup', [shape({ t: anyText, rid, phones: list(1, 64, phone) })]],
  ['presence', [shape({ t: anyText, rid, cell: text(/^8a[0-9a-f]{13}$/) })]],
  ['blind', [shape({ t: anyText, rid, sets: list(1, 32, record({ at: token, near: list(7, 7, token) })) })]],
  [
    'device',
    [
      shape({
        t: anyText,
        rid,
        op: oneOf('approve'),
        dk: key43,
        cert: sig86,
        box: text(/^[A-Za-z0-9_-]{1,512}$/),
      }),
      shape({ t: anyText, rid, op: oneOf('revoke'), id: uid }),
      shape({ t: anyText, rid, op: oneOf('received') }),
    ],
  ],
  ['devices', [shape({ t: anyText, rid })]],
  ['export', [shape({ t: anyText, rid, ts: int(0, Number.MAX_SAFE_INTEGER), sig: sig86 })]],
  ['erase', [shape({ t: anyText, rid, ts: int(0, Number.MAX_SAFE_INTEGER), sig: sig86 })]],
]);

const RELAY = new Map<string, Shape[]>([
  [
    'challenge',
    [
      shape({
        t: anyText,
        v: int(1, 65_535),
        nonce: key43,
        relay: (v) => typeof v === 'string' && v.length >= 1 && v.length <= 256,
        time,
      }),
    ],
  ],
  ['welcome', [shape({ t: anyText, id: uid, limits }, { device: uid, box: text(/^[A-Za-z0-9_-]{1,512}$/) })]],
  ['stored', [shape({ t: anyText, ...stored }), shape({ t: anyText, items: list(1, 64, record(stored)) })]],
  ['msg', [shape({ t: anyText, id: entry, from: uid, mid, ts: time, exp: time, body })]],
  [
    'receipt',
    [
      shape({
        t: anyText,
        id: entry,
        to: uid,
        mid,
        status: oneOf('delivered', 'expired', 'rejected'),
        at: time,
      }),
    ],
  ],
  ['drained', [shape({ t: anyText })]],
  ['keys', [shape({ t: anyText, rid, keys: keysObject })]],
  [
    'error',
    [
      shape(
        {
          t: anyText,
          code: (v) => typeof v === 'string' && Object.hasOwn(ERRORS, v),
          message: anyText,
          retry: bool,
        },
        { ref: anyText },
      ),
    ],
  ],
  ['ok', [shape({ t: anyText, rid })]],
  [
    'friends',
    [
      shape({
        t: anyText,
        rid,
        friends: list(
          0,
          Infinity,
          record({
            id: uid,
            state: oneOf('friend', 'incoming', 'outgoing'),
            proximity: bool,
            autoAccept: bool,
          }),
        ),
      }),
    ],
  ],
  [
    'lookup',
    [
      shape({
        t: anyText,
        rid,
        ids: list(0, Infinity, nullable(uid)),
        tickets: list(0, Infinity, nullable(token)),
      }),
    ],
  ],
  [
    'offer',
    [
      shape({
        t: anyText,
        id: entry,
        from: uid,
        mid,
        ts: time,
        exp: time,
        parts: int(1, 4096),
        auto: bool,
        body,
      }),
    ],
  ],
  [
    'notice',
    [
      shape({
        t: anyText,
        id: noticeId,
        kind: oneOf('friend'),
        user: uid,
        state: oneOf('incoming', 'friend', 'removed'),
      }),
      shape({
        t: anyText,
        id: noticeId,
        kind: oneOf('nearby'),
        user: uid,
        since: time,
        until: time,
      }),
      shape({
        t: anyText,
        id: noticeId,
        kind: oneOf('contact'),
        user: uid,
        ticket: nullable(token),
      }),
      shape({ t: anyText, id: noticeId, kind: oneOf('friends') }),
    ],
  ],
  [
    'devices',
    [
      shape({
        t: anyText,
        rid,
        devices: list(0, 64, record({ id: uid, created: time, seen: time, pending: bool, current: bool })),
      }),
    ],
  ],
  ['export', [shape({ t: anyText, rid, body: (v) => v instanceof Uint8Array && v.length >= 1 })]],
  [
    'sent',
    [
      shape({
        t: anyText,
        id: (v) => entry(v) && (v as string).startsWith('c:'),
        to: uid,
        mid,
        ts: time,
        exp: time,
        body,
      }),
    ],
  ],
]);

/** Why a decoded frame breaks its type's rules, or null when it keeps them. */
export function brokenRule(direction: 'client' | 'relay', frame: ClientFrame | RelayFrame): string | null {
  const shapes = (direction === 'client' ? CLIENT : RELAY).get(frame.t);
  if (shapes === undefined) return `"${frame.t}" is not a ${direction} frame type`;
  if (!shapes.some((s) => fits(frame, s))) return `a field of "${frame.t}" breaks its rules`;
  return null;
}

/** Deep equality that tells -0 from 0, an own key from a missing one, and compares bodies by byte. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array &&
      b instanceof Uint8Array &&
      a.length === b.length &&
      a.every((x, i) => x === b[i])
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
    );
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length || !ka.every((k) => Object.hasOwn(b, k))) return false;
    return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b);
}
