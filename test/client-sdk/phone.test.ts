import { describe, expect, it } from 'vitest';
import { normalizePhone } from '../../client-sdk/index.js';

describe('normalizePhone', () => {
  it('keeps a number already in E.164', () => {
    expect(normalizePhone('+4915112345678')).toBe('+4915112345678');
  });

  it('strips spaces, no-break spaces, dashes and parentheses', () => {
    expect(normalizePhone('+1 (415) 555-0100')).toBe('+14155550100');
    expect(normalizePhone('+44\u00a020 7946\u20110958')).toBe('+442079460958');
    expect(normalizePhone(' +33 6 12 34 56 78 ')).toBe('+33612345678');
  });

  it('reads a leading 00 as the plus sign', () => {
    expect(normalizePhone('0049 151 1234 5678')).toBe('+4915112345678');
  });

  it('refuses a national number instead of guessing the country', () => {
    expect(() => normalizePhone('030 1234567')).toThrow(TypeError);
    expect(() => normalizePhone('(415) 555-0100')).toThrow(TypeError);
  });

  it('refuses letters, dots, extensions and a second plus sign', () => {
    for (const bad of [
      '+1 415 CALL NOW',
      '+1.415.555.0100',
      '+14155550100 ext 12',
      '++14155550100',
      '+0123456789',
    ]) {
      expect(() => normalizePhone(bad), bad).toThrow(TypeError);
    }
  });

  it('refuses numbers too short or too long for E.164', () => {
    expect(() => normalizePhone('+1234567')).toThrow(TypeError);
    expect(() => normalizePhone('+1234567890123456')).toThrow(TypeError);
    expect(normalizePhone('+12345678')).toBe('+12345678');
    expect(normalizePhone('+123456789012345')).toBe('+123456789012345');
  });

  it('keeps the number out of the error message', () => {
    expect(() => normalizePhone('555 0100 99')).toThrow(/^(?!.*555).*$/);
  });
});
