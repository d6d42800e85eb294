import { gridDisk, latLngToCell } from 'h3-js';

/*
 * Where the proximity scenario puts its users, and which `nearby` notices that must produce.
 * Users come in pods of POD_SIZE: each member is a mutual friend of the other four (k = 4). Two
 * pods share each neighbourhood and its cells, so every user also has non-friends in range. In a
 * pod, member 0 and 1 share a cell, 2 is a neighbour of it, 3 a neighbour of 2 (two steps from 0
 * and 1), 4 is about 450 m away. Every member switches proximity on for every friend except
 * 1 -> 0, so 0-1 are in range without mutual consent (C1). Expected matches per pod: 0-2, 1-2 and
 * 2-3, that is 3 of the 10 friendships; neighbourhoods are 0.01 degree apart (over a kilometre).
 */
export const POD_SIZE = 5;
export const CELL_RESOLUTION = 10;

const BASE_LAT = 48.1;
const BASE_LNG = 11.5;
const STEP_DEG = 0.01;
const ROW = 100;

export interface Pod {
  index: number;
  cells: string[];
}

/** The cells of pod `index`'s members (pods 2n and 2n+1 share a neighbourhood). */
export function podCells(index: number): string[] {
  const n = Math.floor(index / 2);
  const lat = BASE_LAT + (n % ROW) * STEP_DEG;
  const lng = BASE_LNG + Math.floor(n / ROW) * STEP_DEG;
  const home = latLngToCell(lat, lng, CELL_RESOLUTION);
  const ring1 = gridDisk(home, 1);
  const next = ring1.find((c) => c !== home)!;
  const twoAway = gridDisk(next, 1).find((c) => !ring1.includes(c))!;
  const far = latLngToCell(lat + 0.004, lng, CELL_RESOLUTION);
  return [home, home, next, twoAway, far];
}

/** Whether member a switched proximity on for member b (all but 1 -> 0). */
export function consents(a: number, b: number): boolean {
  return !(a === 1 && b === 0);
}

/** Cells equal or neighbours: the relay's definition (gridDisk(a, 1)). */
export function inRange(a: string, b: string): boolean {
  return a === b || gridDisk(a, 1).includes(b);
}

/** Member pairs [a, b] (a < b) of a pod. */
export function podPairs(): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 0; a < POD_SIZE; a++) for (let b = a + 1; b < POD_SIZE; b++) out.push([a, b]);
  return out;
}

/** The member pairs of a pod that must each get a `nearby` notice about the other. */
export function expectedPairs(cells: readonly string[]): [number, number][] {
  return podPairs().filter(([a, b]) => consents(a, b) && consents(b, a) && inRange(cells[a]!, cells[b]!));
}
