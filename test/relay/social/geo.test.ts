import { computeDestinationPoint } from 'geolib';
import {
  cellToLatLng,
  cellToParent,
  getPentagons,
  gridDisk,
  gridRingUnsafe,
  latLngToCell,
  originToDirectedEdges,
} from 'h3-js';
import { describe, expect, it } from 'vitest';
import {
  CELL_RESOLUTION,
  cellsInRange,
  impliedSpeedKmh,
  isPlausibleMove,
  isValidCell,
  MAX_PLAUSIBLE_KMH,
} from '../../../relay/social/geo.js';

const T0 = Date.UTC(2026, 10, 24, 9, 0);
const MINUTE = 60_000;
const BERLIN = latLngToCell(52.52, 13.405, 10);
const far = computeDestinationPoint({ latitude: 52.52, longitude: 13.405 }, 1_000_000, 90);
const KM_1000_EAST = latLngToCell(far.latitude, far.longitude, 10);

describe('isValidCell', () => {
  it('accepts an H3 cell at resolution 10, including a pentagon', () => {
    expect(CELL_RESOLUTION).toBe(10);
    expect(isValidCell(BERLIN)).toBe(true);
    expect(isValidCell(getPentagons(10)[0])).toBe(true);
  });

  it('refuses a finer or a coarser cell', () => {
    expect(isValidCell(latLngToCell(52.52, 13.405, 15))).toBe(false);
    expect(isValidCell(latLngToCell(52.52, 13.405, 11))).toBe(false);
    expect(isValidCell(cellToParent(BERLIN, 9))).toBe(false);
  });

  it('refuses coordinates, garbage and values that are not strings', () => {
    for (const bad of [
      '52.52,13.405',
      '52.520008 13.404954',
      '',
      'deadbeef',
      'zzzzzzzzzzzzzzz',
      '8a',
      null,
      42,
      {},
      [BERLIN],
    ]) {
      expect(isValidCell(bad)).toBe(false);
    }
    expect(isValidCell({ latitude: 52.52, longitude: 13.405 })).toBe(false);
  });

  it('refuses other spellings of a valid cell and H3 indexes that are not cells', () => {
    expect(isValidCell(BERLIN.toUpperCase())).toBe(false);
    expect(isValidCell(`0${BERLIN}`)).toBe(false);
    expect(isValidCell(` ${BERLIN}`)).toBe(false);
    expect(isValidCell(originToDirectedEdges(BERLIN)[0])).toBe(false);
  });
});

describe('cellsInRange', () => {
  it('holds for the same cell and each of its neighbours, in both directions', () => {
    for (const cell of gridDisk(BERLIN, 1)) {
      expect(cellsInRange(BERLIN, cell)).toBe(true);
      expect(cellsInRange(cell, BERLIN)).toBe(true);
    }
  });

  it('fails two cells away, far away, and for anything that is not a valid cell', () => {
    for (const cell of gridRingUnsafe(BERLIN, 2)) expect(cellsInRange(BERLIN, cell)).toBe(false);
    expect(cellsInRange(BERLIN, latLngToCell(48.85, 2.35, 10))).toBe(false);
    expect(cellsInRange(BERLIN, BERLIN.toUpperCase())).toBe(false);
    expect(cellsInRange(latLngToCell(52.52, 13.405, 11), latLngToCell(52.52, 13.405, 11))).toBe(false);
  });

  it('holds across the antimeridian', () => {
    const east = latLngToCell(0, 179.9999, 10);
    const west = gridDisk(east, 1).filter((c) => cellToLatLng(c)[1] < 0);
    expect(cellToLatLng(east)[1]).toBeGreaterThan(0);
    expect(west.length).toBeGreaterThan(0);
    for (const cell of west) expect(cellsInRange(east, cell) && cellsInRange(cell, east)).toBe(true);
  });
});

describe('impliedSpeedKmh and isPlausibleMove', () => {
  const walkedTo = latLngToCell(52.5245, 13.405, 10); // about 500 m north of BERLIN's fix

  it('measures a walk of about 500 m in ten minutes at walking pace, and lets it pass', () => {
    const speed = impliedSpeedKmh(BERLIN, T0, walkedTo, T0 + 10 * MINUTE);
    expect(speed).toBeGreaterThan(2);
    expect(speed).toBeLessThan(5);
    expect(isPlausibleMove(BERLIN, T0, walkedTo, T0 + 10 * MINUTE)).toBe(true);
  });

  it('refuses a 1000 km jump in a minute', () => {
    const speed = impliedSpeedKmh(BERLIN, T0, KM_1000_EAST, T0 + MINUTE);
    expect(speed).toBeGreaterThan(59_900);
    expect(speed).toBeLessThan(60_100);
    expect(isPlausibleMove(BERLIN, T0, KM_1000_EAST, T0 + MINUTE)).toBe(false);
  });

  it('lets 1000 km in four hours pass (250 km/h) and refuses it in three (333 km/h)', () => {
    expect(MAX_PLAUSIBLE_KMH).toBe(300);
    expect(isPlausibleMove(BERLIN, T0, KM_1000_EAST, T0 + 4 * 60 * MINUTE)).toBe(true);
    expect(isPlausibleMove(BERLIN, T0, KM_1000_EAST, T0 + 3 * 60 * MINUTE)).toBe(false);
  });

  it('counts staying in a cell as standing still and a move in no time as infinitely fast', () => {
    expect(impliedSpeedKmh(BERLIN, T0, BERLIN, T0)).toBe(0);
    expect(impliedSpeedKmh(BERLIN, T0, walkedTo, T0)).toBe(Number.POSITIVE_INFINITY);
    expect(impliedSpeedKmh(BERLIN, T0, walkedTo, T0 - MINUTE)).toBe(Number.POSITIVE_INFINITY);
    expect(isPlausibleMove(BERLIN, T0, walkedTo, T0)).toBe(false);
  });

  it('always lets a step to a neighbouring cell pass, as a fix jittering on a cell edge does', () => {
    const neighbour = gridRingUnsafe(BERLIN, 1)[0]!;
    expect(isPlausibleMove(BERLIN, T0, neighbour, T0 + 1)).toBe(true);
  });

  it('refuses to measure anything that is not a resolution-10 cell', () => {
    expect(() => impliedSpeedKmh('52.52,13.405', T0, BERLIN, T0 + MINUTE)).toThrow(TypeError);
    expect(() => impliedSpeedKmh(BERLIN, Number.NaN, BERLIN, T0)).toThrow(TypeError);
  });
});
