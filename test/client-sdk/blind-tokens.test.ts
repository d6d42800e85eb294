import { getPentagons, gridDisk, gridRingUnsafe, latLngToCell } from 'h3-js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  atToken,
  hourIndexOf,
  hourIndicesFor,
  hourlyKey,
  NEAR_TOKENS,
  nearTokens,
  paddedSetCount,
  padTokenSets,
  pairKey,
  TOKEN_BYTES,
  type TokenSet,
  tokenSet,
} from '../../client-sdk/blind-tokens.js';
import { ready, sodium } from '../../client-sdk/sodium.js';
import { fromBase64url } from '../../protocol/index.js';

const ALICE = 'AAAAAAAAAAAAAAAAAAAAAA';
const BOB = 'BBBBBBBBBBBBBBBBBBBBBB';
const SESSION = 'window-2026-11-24T09:00Z';
const HOUR = hourIndexOf(Date.UTC(2026, 10, 24, 9, 30));
const CELL = latLngToCell(52.52, 13.405, 10);

let secret: Uint8Array;
let key: Uint8Array;

beforeAll(async () => {
  await ready();
  secret = sodium.randombytes_buf(32);
  key = hourlyKey(pairKey(secret, ALICE, BOB), HOUR);
});

const bytesOf = (token: string) => fromBase64url(token)?.length;

describe('pairKey', () => {
  it('is the same whichever friend computes it', () => {
    expect(pairKey(secret, ALICE, BOB)).toEqual(pairKey(secret, BOB, ALICE));
    expect(pairKey(secret, ALICE, BOB)).toHaveLength(32);
  });

  it('differs for another secret or another pair of IDs', () => {
    const k = pairKey(secret, ALICE, BOB);
    expect(pairKey(sodium.randombytes_buf(32), ALICE, BOB)).not.toEqual(k);
    expect(pairKey(secret, ALICE, 'CCCCCCCCCCCCCCCCCCCCCC')).not.toEqual(k);
  });

  it('refuses a secret that is not 32 bytes and a pair of one user with itself', () => {
    expect(() => pairKey(new Uint8Array(16), ALICE, BOB)).toThrow(TypeError);
    expect(() => pairKey(secret, ALICE, ALICE)).toThrow(TypeError);
  });
});

describe('hourlyKey', () => {
  it('gives each hour its own key', () => {
    const pair = pairKey(secret, ALICE, BOB);
    expect(hourlyKey(pair, HOUR)).toEqual(key);
    expect(hourlyKey(pair, HOUR + 1)).not.toEqual(key);
    expect(hourlyKey(pair, HOUR)).toHaveLength(32);
  });

  it('refuses an hour index that is negative, fractional or too large', () => {
    const pair = pairKey(secret, ALICE, BOB);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 31]) expect(() => hourlyKey(pair, bad)).toThrow(RangeError);
  });

  it('counts hours since the epoch, and also posts for the previous hour early in an hour', () => {
    expect(hourIndexOf(Date.UTC(1970, 0, 1, 2, 59))).toBe(2);
    const window = 15 * 60_000;
    expect(hourIndicesFor(Date.UTC(2026, 10, 24, 9, 14, 59), window)).toEqual([HOUR - 1, HOUR]);
    expect(hourIndicesFor(Date.UTC(2026, 10, 24, 9, 15), window)).toEqual([HOUR]);
  });
});

describe('atToken and nearTokens', () => {
  it('are base64url tokens of 16 bytes, 7 "near" per cell', () => {
    expect(TOKEN_BYTES).toBe(16);
    expect(bytesOf(atToken(key, CELL, SESSION))).toBe(16);
    const near = nearTokens(key, CELL, SESSION);
    expect(near).toHaveLength(NEAR_TOKENS);
    for (const token of near) expect(bytesOf(token)).toBe(16);
  });

  it('match exactly when the "at" cell is the "near" cell or one of its neighbours', () => {
    const near = nearTokens(key, CELL, SESSION);
    for (const cell of gridDisk(CELL, 1)) expect(near).toContain(atToken(key, cell, SESSION));
    for (const cell of gridRingUnsafe(CELL, 2)) expect(near).not.toContain(atToken(key, cell, SESSION));
    expect(near).not.toContain(atToken(key, latLngToCell(48.85, 2.35, 10), SESSION));
  });

  it('do not match across hours or sessions', () => {
    const near = nearTokens(key, CELL, SESSION);
    const nextHour = hourlyKey(pairKey(secret, ALICE, BOB), HOUR + 1);
    expect(near).not.toContain(atToken(nextHour, CELL, SESSION));
    expect(near).not.toContain(atToken(key, CELL, 'window-2026-11-24T09:15Z'));
  });

  it('do not match for another pair of friends in the same cell', () => {
    const other = hourlyKey(pairKey(secret, ALICE, 'CCCCCCCCCCCCCCCCCCCCCC'), HOUR);
    expect(nearTokens(key, CELL, SESSION)).not.toContain(atToken(other, CELL, SESSION));
  });

  it('are sorted, so the position of a match does not tell the same cell from a neighbour', () => {
    const near = nearTokens(key, CELL, SESSION);
    expect(near).toEqual([...near].sort());
  });

  it("pad a pentagon's six cells with a random seventh token", () => {
    const pentagon = getPentagons(10)[3]!;
    const first = nearTokens(key, pentagon, SESSION);
    const second = nearTokens(key, pentagon, SESSION);
    expect(first).toHaveLength(7);
    expect(new Set(first).size).toBe(7);
    expect(first.filter((t) => second.includes(t))).toHaveLength(6);
    expect(first).toContain(atToken(key, pentagon, SESSION));
  });

  it('refuse a cell that is not an H3 resolution-10 index, and a key of the wrong size', () => {
    for (const bad of [
      latLngToCell(52.52, 13.405, 11),
      latLngToCell(52.52, 13.405, 9),
      CELL.toUpperCase(),
      '52.52,13.4',
    ]) {
      expect(() => atToken(key, bad, SESSION)).toThrow(TypeError);
      expect(() => nearTokens(key, bad, SESSION)).toThrow(TypeError);
    }
    expect(() => atToken(new Uint8Array(31), CELL, SESSION)).toThrow(TypeError);
    expect(() => atToken(key, CELL, '')).toThrow(TypeError);
  });
});

describe('tokenSet', () => {
  const neighbour = () => gridDisk(CELL, 1).find((c) => c !== CELL)!;

  it('matches each friend\'s "at" in the other\'s "near" when they are in range, in both directions', () => {
    const a = tokenSet(key, ALICE, BOB, CELL, SESSION);
    const b = tokenSet(key, BOB, ALICE, neighbour(), SESSION);
    expect(a.near).toContain(b.at);
    expect(b.near).toContain(a.at);
    expect(a.near).toHaveLength(7);
  });

  it('does not match friends two cells apart', () => {
    const far = gridRingUnsafe(CELL, 2)[0]!;
    const a = tokenSet(key, ALICE, BOB, CELL, SESSION);
    const b = tokenSet(key, BOB, ALICE, far, SESSION);
    expect(a.near).not.toContain(b.at);
    expect(b.near).not.toContain(a.at);
  });

  it('never lets two "at" tokens or two "near" sets meet, so the relay learns nothing beyond the match', () => {
    for (const cellB of [CELL, neighbour(), gridRingUnsafe(CELL, 2)[0]!]) {
      const a = tokenSet(key, ALICE, BOB, CELL, SESSION);
      const b = tokenSet(key, BOB, ALICE, cellB, SESSION);
      expect(a.at).not.toBe(b.at);
      expect(a.near.filter((t) => b.near.includes(t))).toEqual([]);
      expect(a.near).not.toContain(a.at);
    }
  });
});

describe('padTokenSets', () => {
  /** One set per friend, each with its own pair key, as a device makes them. */
  const real = (n: number): TokenSet[] =>
    Array.from({ length: n }, (_, i) => {
      const friend = `friend-${i}`;
      const hourKey = hourlyKey(pairKey(sodium.randombytes_buf(32), ALICE, friend), HOUR);
      return tokenSet(hourKey, ALICE, friend, CELL, SESSION);
    });

  it('pads to the next multiple of 8, and never below the minimum', () => {
    expect([0, 1, 7, 8, 9, 16, 17].map((n) => paddedSetCount(n))).toEqual([8, 8, 8, 8, 16, 16, 24]);
    expect(paddedSetCount(3, 32)).toBe(32);
    expect(paddedSetCount(40, 32)).toBe(40);
  });

  it('posts the same number of sets, each of 1 + 7 tokens of 16 bytes, for 1 friend as for 7', () => {
    const one = padTokenSets(real(1));
    const seven = padTokenSets(real(7));
    expect(one).toHaveLength(8);
    expect(seven).toHaveLength(8);
    for (const set of [...one, ...seven]) {
      expect(set.near).toHaveLength(7);
      for (const token of [set.at, ...set.near]) expect(bytesOf(token)).toBe(16);
      expect(set.near).toEqual([...set.near].sort());
    }
  });

  it('keeps every real set and pads to an explicit size', () => {
    const sets = real(3);
    const padded = padTokenSets(sets, 20);
    expect(padded).toHaveLength(20);
    for (const set of sets) expect(padded).toContainEqual(set);
    expect(new Set(padded.map((s) => s.at)).size).toBe(20);
  });

  it('shuffles, so the real sets are not always first', () => {
    const sets = real(1);
    const positions = new Set(
      Array.from({ length: 30 }, () => padTokenSets(sets, 16).findIndex((s) => s.at === sets[0]!.at)),
    );
    expect(positions.size).toBeGreaterThan(1);
  });

  it('refuses to pad to fewer sets than it was given', () => {
    expect(() => padTokenSets(real(3), 2)).toThrow(RangeError);
  });
});
