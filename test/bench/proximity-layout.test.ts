import { getResolution } from 'h3-js';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/cli.js';
import {
  consents,
  expectedPairs,
  inRange,
  POD_SIZE,
  podCells,
  podPairs,
} from '../../bench/proximity-layout.js';

describe('proximity layout', () => {
  it('puts every member on a resolution-10 cell', () => {
    for (const cell of podCells(7)) expect(getResolution(cell)).toBe(10);
  });

  it('expects three matches per pod: 0-2, 1-2 and 2-3', () => {
    for (const pod of [0, 1, 2, 99, 199, 20_001]) {
      expect(expectedPairs(podCells(pod))).toEqual([
        [0, 2],
        [1, 2],
        [2, 3],
      ]);
    }
  });

  it('keeps 0 and 1 in range without mutual consent', () => {
    const cells = podCells(3);
    expect(inRange(cells[0]!, cells[1]!)).toBe(true);
    expect(consents(0, 1)).toBe(true);
    expect(consents(1, 0)).toBe(false);
  });

  it('puts member 4 out of range of the others', () => {
    const cells = podCells(5);
    for (let m = 0; m < POD_SIZE - 1; m++) expect(inRange(cells[m]!, cells[4]!)).toBe(false);
  });

  it('gives two pods one neighbourhood and keeps neighbourhoods apart', () => {
    expect(podCells(4)).toEqual(podCells(5));
    for (const a of podCells(4)) for (const b of podCells(6)) expect(inRange(a, b)).toBe(false);
  });

  it('lists the ten pairs of a pod', () => {
    expect(podPairs()).toHaveLength(10);
  });
});

describe('proximity options', () => {
  it('runs 2000 users in quick mode and 100k otherwise', () => {
    expect(parseArgs(['--quick']).proximity.users).toBe(2_000);
    expect(parseArgs([]).proximity.users).toBe(100_000);
  });

  it('takes a user count that is a multiple of the pod size', () => {
    expect(parseArgs(['--proximity-users', '500']).proximity.users).toBe(500);
    expect(() => parseArgs(['--proximity-users', '501'])).toThrow(/multiple of 5/);
  });
});
