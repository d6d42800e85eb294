// Proximity on the device: a location fix becomes a coarse H3 cell here, and only the cell leaves
// this file (P1). Two users are "in range" when one's cell is in the other's gridDisk(cell, 1); the
// relay uses the same definition (relay/social/geo.ts). Why H3 resolution 10: client-sdk/PROXIMITY.md.
import { getResolution, gridDisk, isValidCell, latLngToCell } from 'h3-js';

/** H3 resolution of a presence cell: about 76 m edge, 15,000 m² (h3-js 4 averages). */
export const H3_RESOLUTION = 10;
/** A fix whose accuracy radius is larger than this is dropped: it could be in a far cell. */
export const FIX_MAX_ACCURACY_METERS = 65;
/** A fix older than this is dropped: the user has had time to walk out of range. */
export const FIX_MAX_AGE_MS = 2 * 60_000;
/** How far in the future a fix may be stamped (device and GPS clocks disagree a little). */
export const FIX_MAX_FUTURE_MS = 10_000;

/** A location fix as the platform reports it. `timestamp` is in milliseconds since the epoch. */
export type Fix = { latitude: number; longitude: number; accuracyMeters: number; timestamp: number };

export type FixRejection = 'inaccurate' | 'stale' | 'future' | 'invalid';
export type CellResult = { ok: true; cell: string } | { ok: false; reason: FixRejection };

const CELL_PATTERN = /^[0-9a-f]{15}$/;

/**
 * Snaps a fix to its presence cell, or says why the fix is not good enough to share. The
 * coordinates go no further than this function: callers keep only the cell.
 */
export function cellForFix(fix: Fix, now: number): CellResult {
  const { latitude, longitude, accuracyMeters, timestamp } = fix;
  if (
    !Number.isFinite(latitude) ||
    !Number.isFinite(longitude) ||
    !Number.isFinite(accuracyMeters) ||
    !Number.isFinite(timestamp) ||
    !Number.isFinite(now) ||
    latitude < -90 ||
    latitude > 90 ||
    longitude < -180 ||
    longitude > 180 ||
    accuracyMeters < 0
  ) {
    return { ok: false, reason: 'invalid' };
  }
  if (timestamp - now > FIX_MAX_FUTURE_MS) return { ok: false, reason: 'future' };
  if (now - timestamp > FIX_MAX_AGE_MS) return { ok: false, reason: 'stale' };
  if (accuracyMeters > FIX_MAX_ACCURACY_METERS) return { ok: false, reason: 'inaccurate' };
  return { ok: true, cell: latLngToCell(latitude, longitude, H3_RESOLUTION) };
}

/** The cells "in range" of a cell: the cell itself and its ring (7 cells, 6 around a pentagon). */
export function neighbourCells(cell: string): string[] {
  return gridDisk(cell, 1);
}

/** True for a presence cell in its canonical spelling: an H3 cell index (not an edge or vertex) at resolution 10. */
export function isProximityCell(cell: unknown): cell is string {
  return (
    typeof cell === 'string' &&
    CELL_PATTERN.test(cell) &&
    isValidCell(cell) &&
    getResolution(cell) === H3_RESOLUTION
  );
}
