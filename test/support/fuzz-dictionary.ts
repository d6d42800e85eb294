import { ERROR_CODES } from '../../protocol/index.js';

/*
 * What the fuzzers build frames from: the names that have bitten JavaScript decoders before
 * (Object.prototype's), every frame type and field name of both directions, strings and numbers
 * on the edges, and values of every JSON type. PROTOCOL.md is the source of the type and field
 * lists, so a type the decoder forgets is still thrown at it.
 */

/** Every own property name of Object.prototype, and `__proto__` (an accessor there, a key in JSON). */
export const PROTOTYPE_NAMES: readonly string[] = [
  ...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype']),
];

/** Client frame types (PROTOCOL.md, "Client to relay" and "Version 2"). */
export const CLIENT_TYPES = [
  'hello',
  'auth',
  'send',
  'ack',
  'keys',
  'share',
  'answer',
  'friend',
  'consent',
  'friends',
  'discover',
  'lookup',
  'presence',
  'blind',
] as const;

/** Relay frame types (PROTOCOL.md, "Relay to client" and "Version 2"). */
export const RELAY_TYPES = [
  'challenge',
  'welcome',
  'stored',
  'msg',
  'receipt',
  'drained',
  'keys',
  'error',
  'ok',
  'friends',
  'lookup',
  'notice',
  'offer',
] as const;

/** Each frame type's header field names, both directions merged (a name like `keys` is both). */
export const FRAME_FIELDS: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ['hello', ['t', 'versions']],
  ['auth', ['t', 'pk', 'ts', 'sig']],
  ['send', ['t', 'to', 'mid', 'ttl', 'receipt', 'offer']],
  ['ack', ['t', 'id', 'ids']],
  ['keys', ['t', 'rid', 'ids', 'keys']],
  ['share', ['t', 'to', 'mid', 'ttl', 'receipt', 'parts']],
  ['answer', ['t', 'rid', 'id', 'accept']],
  ['friend', ['t', 'rid', 'op', 'id']],
  ['consent', ['t', 'rid', 'id', 'proximity', 'autoAccept']],
  ['friends', ['t', 'rid', 'friends']],
  ['discover', ['t', 'rid', 'phone']],
  ['lookup', ['t', 'rid', 'phones', 'ids', 'tickets']],
  ['presence', ['t', 'rid', 'cell']],
  ['blind', ['t', 'rid', 'sets']],
  ['challenge', ['t', 'v', 'nonce', 'relay', 'time']],
  ['welcome', ['t', 'id', 'limits']],
  ['stored', ['t', 'to', 'mid', 'exp', 'dup', 'items']],
  ['msg', ['t', 'id', 'from', 'mid', 'ts', 'exp']],
  ['receipt', ['t', 'id', 'to', 'mid', 'status', 'at']],
  ['drained', ['t']],
  ['error', ['t', 'code', 'message', 'retry', 'ref']],
  ['ok', ['t', 'rid']],
  ['notice', ['t', 'id', 'kind', 'user', 'state', 'since', 'until', 'ticket']],
  ['offer', ['t', 'id', 'from', 'mid', 'ts', 'exp', 'parts', 'auto']],
]);

/** Names found inside nested values: limits, stored items, friends, blind sets. */
const NESTED_FIELDS = [
  'maxBodyBytes',
  'maxTtlSeconds',
  'mailboxMaxMessages',
  'mailboxMaxBytes',
  'sendsPerSecond',
  'at',
  'near',
  'state',
  'body',
];

/** Every field name, nested ones included. */
export const FIELD_NAMES: readonly string[] = [
  ...new Set([...[...FRAME_FIELDS.values()].flat(), ...NESTED_FIELDS]),
];

const UID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** Enumerated values of the protocol: ops, states, statuses, kinds, error codes. */
const ENUM_VALUES = [
  'request',
  'accept',
  'decline',
  'remove',
  'friend',
  'incoming',
  'outgoing',
  'removed',
  'delivered',
  'expired',
  'rejected',
  'nearby',
  'contact',
  ...ERROR_CODES,
];

/** Strings on the edges: empty, long, odd code points, near-misses of the protocol's patterns. */
export const EDGE_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  '\ufeff',
  '\u2028',
  'é',
  '\\',
  '"',
  '%00',
  '0',
  '-1',
  '1e999',
  'NaN',
  'true',
  'null',
  '[]',
  '{}',
  'x'.repeat(65),
  'x'.repeat(1000),
  'x'.repeat(9000),
  UID,
  `${UID}=`,
  UID.slice(1),
  `${UID}A`,
  'AAAAAAAAAAAAAAAAAAAAA+',
  'AAAAAAAAAAAAAAAAAAAAA/',
  `m:${UID}:a`,
  `r:${UID}:a`,
  `n:${UID}:a`,
  `x:${UID}:a`,
  `m:${UID}:`,
  `m:${UID}:a:b`,
  'A'.repeat(43),
  'A'.repeat(86),
  '+14155550123',
  '+04155550123',
  '+1415555012',
  '8a2a1072b59ffff',
  '8A2A1072B59FFFF',
  '892a1072b59ffff',
];

/** Every string the dictionary knows: dangerous names, type and field names, enums, edges. */
export const DANGEROUS_STRINGS: readonly string[] = [
  ...new Set([
    ...PROTOTYPE_NAMES,
    ...CLIENT_TYPES,
    ...RELAY_TYPES,
    ...FIELD_NAMES,
    ...ENUM_VALUES,
    ...EDGE_STRINGS,
  ]),
];

/**
 * Numbers on the edges, as JSON text (so -0, 1e999 and exponent spellings reach the parser as
 * written): zero and its sign, the u16, i32 and safe-integer bounds, the limits of the protocol,
 * floats, and what overflows to Infinity.
 */
export const BOUNDARY_NUMBERS: readonly string[] = [
  '0',
  '-0',
  '0.0',
  '1',
  '-1',
  '1.0',
  '1e0',
  '1E2',
  '10e-1',
  '0.5',
  '1.5',
  '2',
  '3',
  '4',
  '7',
  '16',
  '17',
  '64',
  '65',
  '4096',
  '4097',
  '8192',
  '65535',
  '65536',
  '2147483647',
  '2147483648',
  '2147483649',
  '-2147483648',
  '2592000',
  '2592001',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740991',
  '8640000000000000',
  '8640000000000001',
  '1700000000000',
  '1e308',
  '1.7976931348623157e308',
  '1e999',
  '-1e999',
  '5e-324',
  '1e-999',
];
