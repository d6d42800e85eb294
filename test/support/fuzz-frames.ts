import {
  BOUNDARY_NUMBERS,
  CLIENT_TYPES,
  DANGEROUS_STRINGS,
  FIELD_NAMES,
  PROTOTYPE_NAMES,
  RELAY_TYPES,
} from './fuzz-dictionary.js';
import { Leaf, type Node, Obj, type Rng, rawHeader, render, toNode } from './fuzz-encode.js';

/*
 * Frames with intent: valid frames of every type of both directions, mutated the ways a careless
 * or hostile peer would (a field dropped, added, swapped, retyped; the type swapped; keys
 * repeated; a lying length prefix; flipped, cut or added bytes), headers made of the dictionary
 * alone, and plain random bytes.
 */

const UID = 'AAAAAAAAAAAAAAAAAAAAAA';
// Canonical base64url of 16 bytes: the last character carries 2 bits (A, Q, g or w).
const UID2 = 'Bb0_-Bb0_-Bb0_-Bb0_-zw';
const TOKEN = 'tttttttttttttttttttttg';

/** A valid header (as a JS object) and its body, of one frame type. */
export interface Sample {
  header: Record<string, unknown>;
  body: Uint8Array;
}

const none = new Uint8Array(0);
const some = new Uint8Array([1, 2, 3, 4]);

export const CLIENT_SAMPLES: readonly Sample[] = [
  { header: { t: 'hello', versions: [1, 2, 3] }, body: none },
  { header: { t: 'auth', pk: 'P'.repeat(43), ts: 1_700_000_000_000, sig: 'S'.repeat(86) }, body: none },
  { header: { t: 'send', to: UID, mid: 'm-1' }, body: some },
  { header: { t: 'send', to: UID, mid: 'm-2', ttl: 60, receipt: true, offer: 'share-1' }, body: some },
  { header: { t: 'ack', id: `m:${UID}:m-1` }, body: none },
  { header: { t: 'ack', ids: [`m:${UID}:m-1`, `r:${UID2}:x`, `n:${UID}:tag`] }, body: none },
  { header: { t: 'keys', rid: 7, ids: [UID, UID2] }, body: none },
  { header: { t: 'share', to: UID, mid: 'share-1', ttl: 600, receipt: false, parts: 2 }, body: some },
  { header: { t: 'answer', rid: 1, id: `m:${UID}:share-1`, accept: true }, body: none },
  { header: { t: 'friend', rid: 2, op: 'request', id: UID }, body: none },
  { header: { t: 'consent', rid: 3, id: UID, proximity: true, autoAccept: false }, body: none },
  { header: { t: 'friends', rid: 4 }, body: none },
  { header: { t: 'discover', rid: 5, phone: '+14155550123' }, body: none },
  { header: { t: 'discover', rid: 6, phone: null }, body: none },
  { header: { t: 'lookup', rid: 7, phones: ['+14155550123', '+447700900123'] }, body: none },
  { header: { t: 'presence', rid: 8, cell: '8a2a1072b59ffff' }, body: none },
  { header: { t: 'blind', rid: 9, sets: [{ at: TOKEN, near: Array(7).fill(TOKEN) }] }, body: none },
  {
    header: {
      t: 'auth',
      dk: 'D'.repeat(43),
      ts: 1_700_000_000_000,
      sig: 'S'.repeat(86),
      pk: 'P'.repeat(43),
      cert: 'C'.repeat(86),
    },
    body: none,
  },
  {
    header: {
      t: 'device',
      rid: 10,
      op: 'approve',
      dk: 'D'.repeat(43),
      cert: 'C'.repeat(86),
      box: 'B'.repeat(107),
    },
    body: none,
  },
  { header: { t: 'device', rid: 11, op: 'revoke', id: UID2 }, body: none },
  { header: { t: 'device', rid: 12, op: 'received' }, body: none },
  { header: { t: 'devices', rid: 13 }, body: none },
  { header: { t: 'export', rid: 14, ts: 1_700_000_000_000, sig: 'S'.repeat(86) }, body: none },
  { header: { t: 'erase', rid: 15, ts: 1_700_000_000_000, sig: 'S'.repeat(86) }, body: none },
];

const limits = {
  maxBodyBytes: 65_536,
  maxTtlSeconds: 2_592_000,
  mailboxMaxMessages: 1000,
  mailboxMaxBytes: 1_000_000,
  sendsPerSecond: 50,
};

export const RELAY_SAMPLES: readonly Sample[] = [
  {
    header: { t: 'challenge', v: 3, nonce: 'N'.repeat(43), relay: 'passby', time: 1_700_000_000_000 },
    body: none,
  },
  { header: { t: 'welcome', id: UID, limits }, body: none },
  { header: { t: 'welcome', id: UID, limits, device: UID2, box: 'B'.repeat(107) }, body: none },
  {
    header: {
      t: 'devices',
      rid: 13,
      devices: [{ id: UID2, created: 1, seen: 0, pending: true, current: false }],
    },
    body: none,
  },
  { header: { t: 'export', rid: 14 }, body: some },
  { header: { t: 'sent', id: `c:${UID}:m-1`, to: UID, mid: 'm-1', ts: 1, exp: 2 }, body: some },
  { header: { t: 'notice', id: `n:${UID}:tag`, kind: 'friends' }, body: none },
  { header: { t: 'stored', to: UID, mid: 'm-1', exp: 1_700_000_000_000, dup: false }, body: none },
  { header: { t: 'stored', items: [{ to: UID, mid: 'm-1', exp: 5, dup: true }] }, body: none },
  { header: { t: 'msg', id: `m:${UID}:m-1`, from: UID, mid: 'm-1', ts: 1, exp: 2 }, body: some },
  {
    header: { t: 'receipt', id: `r:${UID}:m-1`, to: UID, mid: 'm-1', status: 'delivered', at: 3 },
    body: none,
  },
  { header: { t: 'drained' }, body: none },
  { header: { t: 'keys', rid: 7, keys: { [UID]: 'K'.repeat(43), [UID2]: null } }, body: none },
  { header: { t: 'error', code: 'invalid_field', message: 'no', retry: false, ref: '7' }, body: none },
  { header: { t: 'ok', rid: 1 }, body: none },
  {
    header: {
      t: 'friends',
      rid: 4,
      friends: [{ id: UID, state: 'friend', proximity: true, autoAccept: false }],
    },
    body: none,
  },
  { header: { t: 'lookup', rid: 7, ids: [UID, null], tickets: [null, TOKEN] }, body: none },
  { header: { t: 'notice', id: `n:${UID}:f`, kind: 'friend', user: UID, state: 'incoming' }, body: none },
  { header: { t: 'notice', id: `n:${UID}:p`, kind: 'nearby', user: UID, since: 1, until: 2 }, body: none },
  { header: { t: 'notice', id: `n:${UID}:c`, kind: 'contact', user: UID, ticket: TOKEN }, body: none },
  {
    header: { t: 'offer', id: `m:${UID}:s`, from: UID, mid: 's', ts: 1, exp: 2, parts: 3, auto: false },
    body: some,
  },
];

/** Every value a valid sample holds, to swap into another field. */
const SAMPLE_VALUES: readonly unknown[] = [...CLIENT_SAMPLES, ...RELAY_SAMPLES].flatMap((s) =>
  Object.values(s.header),
);

/** A value from the dictionary: a dangerous string, an edge number, another field's value, or a nest of them. */
export function dictionaryValue(rng: Rng, depth = 0): Node {
  switch (rng.int(depth > 1 ? 5 : 8)) {
    case 0:
    case 1:
      return new Leaf(JSON.stringify(rng.pick(DANGEROUS_STRINGS)));
    case 2:
    case 3:
      return new Leaf(rng.pick(BOUNDARY_NUMBERS));
    case 4:
      return rng.chance(0.5)
        ? new Leaf(rng.pick(['true', 'false', 'null']))
        : toNode(rng.pick(SAMPLE_VALUES));
    case 5:
      return Array.from({ length: rng.pick([0, 1, 2, 7, 8, 17, 33, 65]) }, () =>
        dictionaryValue(rng, depth + 1),
      );
    case 6:
      return new Obj(
        Array.from({ length: rng.int(4) }, (): [string, Node] => [
          dictionaryKey(rng),
          dictionaryValue(rng, depth + 1),
        ]),
      );
    default:
      // A nested object that owns "__proto__" (JSON.parse makes it an own key, never the prototype).
      return new Obj([['__proto__', new Obj([[rng.pick(FIELD_NAMES), dictionaryValue(rng, depth + 1)]])]]);
  }
}

function dictionaryKey(rng: Rng): string {
  return rng.chance(0.5) ? rng.pick(FIELD_NAMES) : rng.pick(DANGEROUS_STRINGS);
}

const TYPE_NAMES = [...CLIENT_TYPES, ...RELAY_TYPES, ...PROTOTYPE_NAMES];

/** A header made from the dictionary alone: a type name (or a dangerous one) and a few fields. */
export function dictionaryFrame(rng: Rng): Uint8Array {
  const entries: [string, Node][] = [
    ['t', new Leaf(JSON.stringify(rng.chance(0.8) ? rng.pick(TYPE_NAMES) : rng.pick(DANGEROUS_STRINGS)))],
  ];
  for (let n = rng.int(6); n > 0; n--) entries.push([dictionaryKey(rng), dictionaryValue(rng)]);
  if (rng.chance(0.1)) entries.reverse();
  return rawHeader(render(new Obj(entries)), rng.chance(0.2) ? rng.bytes(rng.int(8)) : none);
}

/** Changes one field of a header tree (or of an object or array inside it). */
function mutateNode(rng: Rng, node: Obj): void {
  // Sometimes go one level down, into a nested object or array (limits, items, sets, ids ...).
  const nested = node.entries.filter(([, v]) => v instanceof Obj || Array.isArray(v));
  if (nested.length > 0 && rng.chance(0.3)) {
    const [, inner] = rng.pick(nested);
    if (inner instanceof Obj) return mutateNode(rng, inner);
    const list = inner as Node[];
    if (list.length > 0 && rng.chance(0.7)) {
      const i = rng.int(list.length);
      const item = list[i]!;
      if (item instanceof Obj && rng.chance(0.6)) return mutateNode(rng, item);
      list[i] = dictionaryValue(rng, 1);
    } else if (rng.chance(0.5))
      list.push(...Array.from({ length: rng.int(70) }, () => list[0] ?? dictionaryValue(rng, 1)));
    else list.length = 0;
    return;
  }
  const i = rng.int(node.entries.length);
  const [key, value] = node.entries[i] ?? ['t', new Leaf('"hello"')];
  switch (rng.int(8)) {
    case 0: // drop a field
      node.entries.splice(i, 1);
      return;
    case 1: // add a field
      node.entries.splice(rng.int(node.entries.length + 1), 0, [dictionaryKey(rng), dictionaryValue(rng)]);
      return;
    case 2: // swap a value for one from the dictionary
      node.entries[i] = [key, dictionaryValue(rng)];
      return;
    case 3: // change the type of a value
      node.entries[i] = [key, retype(rng, value)];
      return;
    case 4: // repeat a key: JSON.parse keeps the last
      node.entries.splice(rng.int(node.entries.length + 1), 0, [
        key,
        rng.chance(0.5) ? value : dictionaryValue(rng),
      ]);
      return;
    case 5: // the same fields under another type's name
      node.entries.unshift(['t', new Leaf(JSON.stringify(rng.pick(TYPE_NAMES)))]);
      return;
    case 6: // two fields trade values
      {
        const j = rng.int(node.entries.length);
        const other = node.entries[j];
        if (other === undefined) return;
        node.entries[i] = [key, other[1]];
        node.entries[j] = [other[0], value];
      }
      return;
    default: // rename a field
      node.entries[i] = [rng.chance(0.5) ? dictionaryKey(rng) : key.toUpperCase(), value];
  }
}

function retype(rng: Rng, value: Node): Node {
  const text = render(value);
  switch (rng.int(5)) {
    case 0:
      return new Leaf(JSON.stringify(text)); // a number or object as a string
    case 1:
      return [value];
    case 2:
      return new Obj([['value', value]]);
    case 3:
      return new Leaf(rng.pick(['null', 'true', 'false', '0', '""', '[]', '{}']));
    default:
      // a string as the number it spells, when it spells one
      return value instanceof Leaf && /^"-?\d+(\.\d+)?"$/.test(value.text)
        ? new Leaf(value.text.slice(1, -1))
        : new Leaf('"1"');
  }
}

/** Cuts, flips, adds bytes, or changes the length prefix of an encoded frame. */
function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const headerEnd = 2 + ((bytes[0]! << 8) | bytes[1]!);
  switch (rng.int(6)) {
    case 0: // truncate
      return bytes.slice(0, rng.int(bytes.length));
    case 1: {
      // change the length prefix: off by a little, or anything
      const out = bytes.slice();
      const length = rng.chance(0.6) ? headerEnd - 2 + rng.pick([-2, -1, 1, 2, 3]) : rng.int(65_536);
      out[0] = (length >> 8) & 0xff;
      out[1] = length & 0xff;
      return out;
    }
    case 2: {
      // flip bytes in the header
      const out = bytes.slice();
      for (let n = 1 + rng.int(3); n > 0 && headerEnd > 2; n--)
        flip(out, 2 + rng.int(headerEnd - 2), 1 << rng.int(8));
      return out;
    }
    case 3: {
      // flip bytes in the body, or give a bodiless frame one
      if (bytes.length <= headerEnd) return concat(bytes, rng.bytes(1 + rng.int(4)));
      const out = bytes.slice();
      flip(out, headerEnd + rng.int(bytes.length - headerEnd), 0xff);
      return out;
    }
    case 4: // an over-long body
      return concat(bytes, new Uint8Array(65_537 - Math.max(0, bytes.length - headerEnd)));
    default: // drop the body
      return bytes.slice(0, headerEnd);
  }
}

function flip(bytes: Uint8Array, at: number, mask: number): void {
  bytes[at] = (bytes[at] ?? 0) ^ mask;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A valid frame from `samples` with one to three changes to its header, its bytes, or both. */
export function mutatedFrame(rng: Rng, samples: readonly Sample[]): Uint8Array {
  const sample = rng.pick(samples);
  const tree = toNode(sample.header) as Obj;
  const changes = rng.int(4);
  for (let n = changes === 0 ? 0 : rng.int(changes) + 1; n > 0; n--) mutateNode(rng, tree);
  const bytes = rawHeader(render(tree), sample.body);
  return changes === 0 || rng.chance(0.25) ? mutateBytes(rng, bytes) : bytes;
}

/** Random bytes, sometimes behind a length prefix that fits them. */
export function randomFrame(rng: Rng): Uint8Array {
  const bytes = rng.bytes(rng.int(rng.chance(0.9) ? 64 : 2048));
  if (bytes.length >= 2 && rng.chance(0.5)) {
    const length = rng.int(bytes.length - 1);
    bytes[0] = length >> 8;
    bytes[1] = length & 0xff;
    if (rng.chance(0.5) && length > 0) bytes[2] = 0x7b; // '{'
  }
  return bytes;
}

/** One fuzz frame: mostly mutations of valid frames, then dictionary headers, then random bytes. */
export function fuzzFrame(rng: Rng, samples: readonly Sample[]): Uint8Array {
  const roll = rng.next();
  if (roll < 0.6) return mutatedFrame(rng, samples);
  if (roll < 0.9) return dictionaryFrame(rng);
  return randomFrame(rng);
}
