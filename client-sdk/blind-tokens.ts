// Blind mode: friends post opaque tokens instead of their cell, so the relay can tell that two of
// them are in range without learning where (private proximity testing, after Narayanan et al.
// NDSS 2011, with the Exposure Notification style of hourly keys). Construction, with libsodium's
// BLAKE2b throughout (crypto_generichash keyed = BLAKE2b-MAC, crypto_kdf = BLAKE2b with salt and
// personalisation), as an extract-then-expand KDF in the manner of HKDF:
//
//   pair key   = BLAKE2b-256(key = X25519 shared secret, "passby/pair/v1" | lp(min id) | lp(max id))
//   hour key   = crypto_kdf_derive_from_key(32, hourIndex, "pbhour01", pair key)
//   direction  = BLAKE2b-256(key = hour key, "passby/dir/v1" | lp(user ID))   (see tokenSet)
//   token      = BLAKE2b-128(key = direction key, "passby/cell/v1" | lp(session tag) | cell)
//
// lp(x) is x's UTF-8 bytes after their length in one byte. A token for a cell is the same whether
// it is posted as "at" or as one of the "near" tokens, so B's "at" equals one of A's "near" exactly
// when B's cell is in gridDisk(A's cell, 1). Every function here needs libsodium loaded: call them
// after `await ready()` from ./sodium.js, as every SDK entry point does.
import { toBase64url } from '../protocol/index.js';
import { isProximityCell, neighbourCells } from './proximity.js';
import { concat, sodium, utf8 } from './sodium.js';

/** Bytes in a token. */
export const TOKEN_BYTES = 16;
/** "near" tokens per set: gridDisk(cell, 1) has 7 cells, 6 around a pentagon, padded to 7. */
export const NEAR_TOKENS = 7;
/** Token sets are padded to a multiple of this, and never to fewer than this. */
export const TOKEN_SET_BUCKET = 8;
/** The largest hour index crypto_kdf accepts as a JS number (2^31 hours is 245,000 years). */
const MAX_HOUR_INDEX = 2 ** 31 - 1;
const KEY_BYTES = 32;
const HOUR_MS = 3_600_000;
const HOUR_CONTEXT = 'pbhour01';

/** What a device posts for one opted-in friend (or as padding): base64url tokens of 16 bytes. */
export type TokenSet = { at: string; near: string[] };

/** The hour a time (milliseconds since the epoch) falls in, as an hour key expects it. */
export function hourIndexOf(timeMs: number): number {
  return Math.floor(timeMs / HOUR_MS);
}

/**
 * The hours a device posts tokens for at `timeMs`: the current one, and the previous one as well
 * while the current hour is younger than the matching window, so that two friends either side of
 * an hour boundary still match within the relay's sliding window.
 */
export function hourIndicesFor(timeMs: number, windowMs: number): number[] {
  const hour = hourIndexOf(timeMs);
  return hour > 0 && timeMs - hour * HOUR_MS < windowMs ? [hour - 1, hour] : [hour];
}

/** The key two friends share for blind mode. The same whichever of the two computes it. */
export function pairKey(sharedSecret: Uint8Array, idA: string, idB: string): Uint8Array {
  checkKey(sharedSecret, 'sharedSecret');
  if (idA === idB) throw new TypeError('a pair key needs two different user IDs');
  const [low, high] = idA < idB ? [idA, idB] : [idB, idA];
  const input = concat(utf8('passby/pair/v1'), lengthPrefixed(low), lengthPrefixed(high));
  return sodium.crypto_generichash(KEY_BYTES, input, sharedSecret);
}

/** The pair's key for one hour (see hourIndexOf); tokens made with it match only within that hour. */
export function hourlyKey(pair: Uint8Array, hourIndex: number): Uint8Array {
  checkKey(pair, 'pairKey');
  if (!Number.isInteger(hourIndex) || hourIndex < 0 || hourIndex > MAX_HOUR_INDEX) {
    throw new RangeError(`hourIndex must be an integer in 0..${MAX_HOUR_INDEX}`);
  }
  return sodium.crypto_kdf_derive_from_key(KEY_BYTES, hourIndex, HOUR_CONTEXT, pair);
}

/** The token that says "I am in this cell". */
export function atToken(hourKey: Uint8Array, cell: string, sessionTag: string): string {
  checkKey(hourKey, 'hourKey');
  checkCell(cell);
  return toBase64url(cellToken(hourKey, cell, sessionTag));
}

/**
 * The tokens that say "anyone at one of these cells is in range of me": one per cell of
 * gridDisk(cell, 1), padded with random tokens to 7, sorted so that their order tells nothing
 * (in particular not which one is the cell itself).
 */
export function nearTokens(hourKey: Uint8Array, cell: string, sessionTag: string): string[] {
  checkKey(hourKey, 'hourKey');
  checkCell(cell);
  const tokens = neighbourCells(cell).map((c) => toBase64url(cellToken(hourKey, c, sessionTag)));
  return [...tokens, ...randomTokens(NEAR_TOKENS - tokens.length)].sort();
}

/**
 * What `ownId` posts for its friend `friendId` this hour: its "at" token under its own direction
 * key, its "near" tokens under the friend's. The relay then finds a match only across the two
 * friends (B's "at" in A's "near", and A's "at" in B's "near"), never between two "at" tokens or
 * two "near" sets, which would tell it same-cell from neighbour, or a miss by two cells.
 */
export function tokenSet(
  hourKey: Uint8Array,
  ownId: string,
  friendId: string,
  cell: string,
  sessionTag: string,
): TokenSet {
  if (ownId === friendId) throw new TypeError('a token set needs two different user IDs');
  return {
    at: atToken(directionKey(hourKey, ownId), cell, sessionTag),
    near: nearTokens(directionKey(hourKey, friendId), cell, sessionTag),
  };
}

/** How many sets a device with `count` real sets posts: the next multiple of 8, at least `minimum`. */
export function paddedSetCount(count: number, minimum = TOKEN_SET_BUCKET): number {
  if (!Number.isInteger(count) || count < 0) throw new RangeError('count must be a whole number');
  if (!Number.isInteger(minimum) || minimum < 0) throw new RangeError('minimum must be a whole number');
  return Math.max(minimum, Math.ceil(count / TOKEN_SET_BUCKET) * TOKEN_SET_BUCKET);
}

/**
 * Adds sets of random tokens up to `padTo` and shuffles, so the relay cannot count a user's
 * opted-in friends (beyond the bucket) nor tell which sets are real.
 */
export function padTokenSets(sets: readonly TokenSet[], padTo = paddedSetCount(sets.length)): TokenSet[] {
  if (!Number.isInteger(padTo) || padTo < sets.length) {
    throw new RangeError(`padTo must be a whole number no smaller than the ${sets.length} sets given`);
  }
  const out = sets.map((s) => ({ at: s.at, near: [...s.near] }));
  out.push(...randomTokenSets(padTo - sets.length));
  for (let i = out.length - 1; i > 0; i--) {
    const j = sodium.randombytes_uniform(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function randomTokenSets(count: number): TokenSet[] {
  const tokens = randomTokens(count * (1 + NEAR_TOKENS));
  return Array.from({ length: count }, (_, i) => {
    const [at, ...near] = tokens.slice(i * (1 + NEAR_TOKENS), (i + 1) * (1 + NEAR_TOKENS));
    return { at: at!, near: near.sort() };
  });
}

/**
 * Random tokens as BLAKE2b-128 of a counter under a fresh random key: indistinguishable from real
 * tokens, and cheap (randombytes_buf in libsodium-wrappers costs microseconds per byte in Node).
 */
function randomTokens(count: number): string[] {
  if (count === 0) return [];
  const seed = sodium.randombytes_buf(KEY_BYTES);
  const counter = new Uint8Array(4);
  const view = new DataView(counter.buffer);
  return Array.from({ length: count }, (_, i) => {
    view.setUint32(0, i);
    return toBase64url(sodium.crypto_generichash(TOKEN_BYTES, counter, seed));
  });
}

function directionKey(hourKey: Uint8Array, userId: string): Uint8Array {
  checkKey(hourKey, 'hourKey');
  return sodium.crypto_generichash(KEY_BYTES, concat(utf8('passby/dir/v1'), lengthPrefixed(userId)), hourKey);
}

function cellToken(key: Uint8Array, cell: string, sessionTag: string): Uint8Array {
  const input = concat(utf8('passby/cell/v1'), lengthPrefixed(sessionTag), utf8(cell));
  return sodium.crypto_generichash(TOKEN_BYTES, input, key);
}

function lengthPrefixed(text: string): Uint8Array {
  const bytes = utf8(text);
  if (bytes.length === 0 || bytes.length > 255)
    throw new TypeError('IDs and session tags take 1 to 255 bytes');
  return concat(Uint8Array.of(bytes.length), bytes);
}

function checkKey(key: Uint8Array, name: string): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new TypeError(`${name} must be ${KEY_BYTES} bytes`);
  }
}

function checkCell(cell: string): void {
  if (!isProximityCell(cell)) throw new TypeError('cell must be an H3 cell index at resolution 10');
}
