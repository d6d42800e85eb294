import fc from 'fast-check';
import { computeDestinationPoint } from 'geolib';
import { getPentagons, getResolution, latLngToCell } from 'h3-js';
import { describe, expect, it } from 'vitest';
import {
  cellForFix,
  FIX_MAX_ACCURACY_METERS,
  FIX_MAX_AGE_MS,
  FIX_MAX_FUTURE_MS,
  type Fix,
  H3_RESOLUTION,
  isProximityCell,
  neighbourCells,
} from '../../client-sdk/proximity.js';
import { cellsInRange } from '../../relay/social/geo.js';

const NOW = Date.UTC(2026, 10, 24, 9, 0, 0);
const fix = (over: Partial<Fix> = {}): Fix => ({
  latitude: 48.8584,
  longitude: 2.2945,
  accuracyMeters: 10,
  timestamp: NOW - 5_000,
  ...over,
});

/** mulberry32: a small seeded PRNG, so the Monte Carlo run is the same on every machine. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const inRange = (a: string, b: string) => neighbourCells(a).includes(b);

type Trial = { meters: number; matched: boolean; crossesAntimeridian: boolean };

/**
 * Places 20,000 pairs: the first point anywhere between 70° S and 70° N (a quarter of them within
 * about 500 m of the antimeridian), the second at a random bearing and a distance of 0 to 400 m.
 */
function monteCarlo(pairs: number, seed: number): Trial[] {
  const random = seeded(seed);
  const trials: Trial[] = [];
  for (let i = 0; i < pairs; i++) {
    const latitude = -70 + 140 * random();
    const nearAntimeridian = i % 4 === 0;
    const longitude = nearAntimeridian ? 180 - 0.005 + 0.01 * random() : -180 + 360 * random();
    const a = { latitude, longitude: longitude > 180 ? longitude - 360 : longitude };
    const meters = 400 * random();
    const b = computeDestinationPoint(a, meters, 360 * random());
    const ca = cellForFix({ ...a, accuracyMeters: 5, timestamp: NOW }, NOW);
    const cb = cellForFix({ ...b, accuracyMeters: 5, timestamp: NOW }, NOW);
    if (!ca.ok || !cb.ok) throw new Error('a generated fix was refused');
    const matched = inRange(ca.cell, cb.cell);
    if (matched !== inRange(cb.cell, ca.cell)) throw new Error(`asymmetric: ${ca.cell} ${cb.cell}`);
    if (matched !== cellsInRange(ca.cell, cb.cell)) throw new Error('the SDK and the relay disagree');
    trials.push({
      meters,
      matched,
      crossesAntimeridian: nearAntimeridian && Math.sign(a.longitude) !== Math.sign(b.longitude),
    });
  }
  return trials;
}

describe('cellForFix', () => {
  it('snaps a good fix to its resolution-10 H3 cell', () => {
    const result = cellForFix(fix(), NOW);
    expect(result).toEqual({ ok: true, cell: latLngToCell(48.8584, 2.2945, 10) });
    if (result.ok) expect(getResolution(result.cell)).toBe(H3_RESOLUTION);
  });

  it('returns the cell and nothing else, so no coordinate leaves the function', () => {
    const result = cellForFix(fix(), NOW);
    expect(Object.keys(result).sort()).toEqual(['cell', 'ok']);
    expect(JSON.stringify(result)).not.toMatch(/48\.8|2\.29/);
  });

  it('keeps a fix exactly at the accuracy limit and drops one a centimetre worse', () => {
    expect(FIX_MAX_ACCURACY_METERS).toBe(65);
    expect(cellForFix(fix({ accuracyMeters: 65 }), NOW).ok).toBe(true);
    expect(cellForFix(fix({ accuracyMeters: 65.01 }), NOW)).toEqual({ ok: false, reason: 'inaccurate' });
    expect(cellForFix(fix({ accuracyMeters: 500 }), NOW)).toEqual({ ok: false, reason: 'inaccurate' });
  });

  it('keeps a fix exactly two minutes old and drops one a millisecond older', () => {
    expect(FIX_MAX_AGE_MS).toBe(120_000);
    expect(cellForFix(fix({ timestamp: NOW - 120_000 }), NOW).ok).toBe(true);
    expect(cellForFix(fix({ timestamp: NOW - 120_001 }), NOW)).toEqual({ ok: false, reason: 'stale' });
  });

  it('tolerates a fix stamped slightly in the future and drops one further ahead', () => {
    expect(cellForFix(fix({ timestamp: NOW + FIX_MAX_FUTURE_MS }), NOW).ok).toBe(true);
    expect(cellForFix(fix({ timestamp: NOW + FIX_MAX_FUTURE_MS + 1 }), NOW)).toEqual({
      ok: false,
      reason: 'future',
    });
  });

  it('refuses coordinates outside the globe, non-finite numbers and a negative accuracy', () => {
    const invalid = [
      fix({ latitude: 90.0001 }),
      fix({ latitude: -91 }),
      fix({ longitude: 180.0001 }),
      fix({ longitude: -181 }),
      fix({ latitude: Number.NaN }),
      fix({ longitude: Number.POSITIVE_INFINITY }),
      fix({ accuracyMeters: Number.NaN }),
      fix({ accuracyMeters: -1 }),
      fix({ timestamp: Number.NaN }),
    ];
    for (const f of invalid) expect(cellForFix(f, NOW)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('accepts the extreme valid coordinates: the poles and both sides of the antimeridian', () => {
    for (const [latitude, longitude] of [
      [90, 0],
      [-90, 0],
      [0, 180],
      [0, -180],
    ] as const) {
      const result = cellForFix(fix({ latitude, longitude }), NOW);
      expect(result.ok && isProximityCell(result.cell)).toBe(true);
    }
  });

  it('reports an invalid fix before judging its age or accuracy', () => {
    const result = cellForFix(fix({ latitude: 100, accuracyMeters: 1000, timestamp: 0 }), NOW);
    expect(result).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('neighbourCells', () => {
  it('holds the cell itself and its six neighbours', () => {
    const cell = latLngToCell(51.5, -0.12, 10);
    const disk = neighbourCells(cell);
    expect(disk).toHaveLength(7);
    expect(disk).toContain(cell);
    expect(new Set(disk).size).toBe(7);
  });

  it('holds six cells around a pentagon', () => {
    const pentagon = getPentagons(10)[0]!;
    expect(neighbourCells(pentagon)).toHaveLength(6);
    expect(neighbourCells(pentagon)).toContain(pentagon);
  });

  it('is a symmetric relation', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -80, max: 80, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.integer({ min: 0, max: 6 }),
        (latitude, longitude, k) => {
          const cell = latLngToCell(latitude, longitude, 10);
          const other = neighbourCells(cell)[k % neighbourCells(cell).length]!;
          return neighbourCells(other).includes(cell);
        },
      ),
      { seed: 20261124, numRuns: 2000 },
    );
  });
});

describe('matching by cell and neighbours (Monte Carlo, 20,000 seeded pairs)', () => {
  const trials = monteCarlo(20_000, 0x9a55b7);

  it('matches every pair within 60 m, across latitudes 70° S to 70° N and the antimeridian', () => {
    const missed = trials.filter((t) => t.meters <= 60 && !t.matched);
    expect(missed).toEqual([]);
    expect(trials.filter((t) => t.meters <= 60).length).toBeGreaterThan(2500);
  });

  it('matches no pair further apart than 350 m', () => {
    expect(trials.filter((t) => t.meters > 350 && t.matched)).toEqual([]);
    expect(trials.filter((t) => t.meters > 350).length).toBeGreaterThan(2000);
  });

  it('puts its figures where PROXIMITY.md quotes them: first miss beyond 60 m, last match below 350 m', () => {
    const smallestMissed = Math.min(...trials.filter((t) => !t.matched).map((t) => t.meters));
    const largestMatched = Math.max(...trials.filter((t) => t.matched).map((t) => t.meters));
    expect(smallestMissed).toBeGreaterThan(60);
    expect(largestMatched).toBeLessThan(350);
  });

  it('really crosses the antimeridian, and matches the close pairs that do', () => {
    const crossing = trials.filter((t) => t.crossesAntimeridian);
    expect(crossing.length).toBeGreaterThan(500);
    expect(crossing.filter((t) => t.meters <= 60 && !t.matched)).toEqual([]);
    expect(crossing.some((t) => t.matched)).toBe(true);
  });
});
