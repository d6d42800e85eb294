import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ERRORS, errorForCloseCode, PassbyError } from '../../protocol/index.js';

const protocolDoc = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  it('documents every code in PROTOCOL.md with its close code and retry flag', () => {
    const rows = protocolDoc
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    for (const code of ERROR_CODES) {
      const { close, retry } = ERRORS[code];
      const row = rows.find((cells) => cells[1] === `\`${code}\``);
      expect(row, `${code} has a row in PROTOCOL.md`).toBeDefined();
      expect(row?.[2]).toBe(String(close ?? 'in-band'));
      expect(row?.[3]).toBe(retry ? 'yes' : 'no');
      expect(row?.[4]?.length).toBeGreaterThan(20);
    }
  });

  it('gives each closing code its own close code in 4000-4999 (going_away uses the standard 1001)', () => {
    const closes = ERROR_CODES.map((c) => ERRORS[c].close).filter((c) => c !== null);
    expect(new Set(closes).size).toBe(closes.length);
    for (const code of ERROR_CODES) {
      const close = ERRORS[code].close;
      if (close === null) continue;
      if (code === 'going_away') expect(close).toBe(1001);
      else expect(close >= 4000 && close <= 4999, code).toBe(true);
      expect(errorForCloseCode(close)).toBe(code);
    }
  });

  it('carries the code, retry flag and cause on one error class', () => {
    const cause = new Error('socket reset');
    const err = new PassbyError('quota_exceeded', undefined, { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code: 'quota_exceeded', retry: true, close: null, cause });
    expect(err.message).toBe(ERRORS.quota_exceeded.text);
  });
});
