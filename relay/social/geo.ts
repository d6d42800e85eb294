// Cells on the relay: what a client may post as presence, when two cells are in range, and whether a
// move between two updates is one a person could make (the anti-probing jump check). The device
// snaps its fix to an H3 resolution-10 cell (client-sdk/proximity.ts); anything finer is refused
// here, so a client cannot post coordinates or a precise cell. Nothing in this file logs a cell (P6).
import { getDistance } from 'geolib';
import { cellToLatLng, getResolution, gridDisk, isValidCell as isH3Cell } from 'h3-js';
import type { Place } from './contract.js';

/** The one resolution the relay accepts; the SDK snaps to the same (client-sdk/proximity.ts). */
export const CELL_RESOLUTION = 10;
/** Faster than this between two presence updates, and the second one is refused (PASSBY_MAX_SPEED_KMH's default). */
export const MAX_PLAUSIBLE_KMH = 300;

const CELL_PATTERN = /^[0-9a-f]{15}$/;
const MS_PER_HOUR = 3_600_000;

/**
 * True only for an H3 cell index at resolution 10 in its canonical spelling (15 lower-case hex
 * digits). h3-js alone also accepts upper case and a leading zero, which would let one cell pass
 * under several spellings and miss its matches.
 */
export function isValidCell(cell: unknown): cell is string {
  return (
    typeof cell === 'string' &&
    CELL_PATTERN.test(cell) &&
    isH3Cell(cell) &&
    getResolution(cell) === CELL_RESOLUTION
  );
}

/** True when b is a or one of its neighbours: gridDisk(a, 1), the SDK's definition of in range. Symmetric. */
export function cellsInRange(a: string, b: string): boolean {
  if (!isValidCell(a) || !isValidCell(b)) return false;
  return a === b || gridDisk(a, 1).includes(b);
}

/**
 * The speed, in km/h, of going from the centre of `prevCell` at `prevTime` to the centre of `cell`
 * at `time` (milliseconds). Staying put is 0; moving in no time (or back in time) is Infinity.
 */
export function impliedSpeedKmh(prevCell: string, prevTime: number, cell: string, time: number): number {
  if (!isValidCell(prevCell) || !isValidCell(cell)) {
    throw new TypeError('impliedSpeedKmh takes resolution-10 H3 cells');
  }
  if (!Number.isFinite(prevTime) || !Number.isFinite(time)) throw new TypeError('times must be finite');
  if (prevCell === cell) return 0;
  const meters = getDistance(centre(prevCell), centre(cell), 0.01);
  const elapsedMs = time - prevTime;
  if (elapsedMs <= 0) return Number.POSITIVE_INFINITY;
  return meters / 1000 / (elapsedMs / MS_PER_HOUR);
}

/**
 * Whether a user could have moved from `prevCell` to `cell` in the time between two updates. A
 * step to a neighbouring cell always passes: a fix that jitters across a cell edge flips between
 * two cells, and such a step reveals nothing the match itself does not.
 */
export function isPlausibleMove(
  prevCell: string,
  prevTime: number,
  cell: string,
  time: number,
  maxKmh: number = MAX_PLAUSIBLE_KMH,
): boolean {
  if (cellsInRange(prevCell, cell)) return true;
  return impliedSpeedKmh(prevCell, prevTime, cell, time) <= maxKmh;
}

/**
 * A valid cell with its centre and the cells in range of it: what a presence update hands the
 * store (SocialStore.updatePresence), computed once here so that the store decides by plain
 * comparisons (the Redis store in Lua, with no H3 there).
 */
export function placeOf(cell: string): Place {
  const [lat, lng] = cellToLatLng(cell);
  return { cell, lat, lng, inRange: gridDisk(cell, 1) };
}

/**
 * isPlausibleMove from a last cell at `prev.at` (its centre given, or read from the cell) to
 * `place` at `time`: the same rule, which proximity.lua repeats for the Redis store (the same
 * distance as geolib's, from the centres the relay stored).
 */
export function plausibleStep(
  prev: { cell: string; at: number; lat?: number; lng?: number },
  place: Place,
  time: number,
  maxKmh: number,
): boolean {
  if (place.inRange.includes(prev.cell)) return true;
  const elapsedMs = time - prev.at;
  if (elapsedMs <= 0) return false;
  const from =
    prev.lat === undefined || prev.lng === undefined ? centre(prev.cell) : toPoint(prev.lat, prev.lng);
  const meters = getDistance(from, toPoint(place.lat, place.lng), 0.01);
  return meters / 1000 / (elapsedMs / MS_PER_HOUR) <= maxKmh;
}

function toPoint(latitude: number, longitude: number): { latitude: number; longitude: number } {
  return { latitude, longitude };
}

function centre(cell: string): { latitude: number; longitude: number } {
  const [latitude, longitude] = cellToLatLng(cell);
  return toPoint(latitude, longitude);
}
