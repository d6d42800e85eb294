import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, fullJitter } from '../../client-sdk/index.js';

describe('fullJitter', () => {
  it('draws the first delay from [0, 500 ms)', () => {
    expect(fullJitter(1, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(fullJitter(1, DEFAULT_BACKOFF, () => 0.5)).toBe(250);
    expect(fullJitter(1, DEFAULT_BACKOFF, () => 0.999999)).toBe(499);
  });

  it('doubles the ceiling with every attempt up to 20 s', () => {
    const top = (attempt: number) => fullJitter(attempt, DEFAULT_BACKOFF, () => 0.999999) + 1;
    expect([1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([500, 1000, 2000, 4000, 8000, 16000, 20000]);
    expect(top(1000)).toBe(20000);
  });

  it('spreads clients over the whole interval rather than around one point', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    const delays = Array.from({ length: 2000 }, () => fullJitter(6, DEFAULT_BACKOFF, random));
    expect(Math.min(...delays)).toBeLessThan(500);
    expect(Math.max(...delays)).toBeGreaterThan(15_500);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    expect(mean).toBeGreaterThan(7000);
    expect(mean).toBeLessThan(9000);
  });
});
