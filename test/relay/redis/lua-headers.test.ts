import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACK_STRIDE, BOX_KEYS, RECEIPT_STRIDE, SEND_STRIDE } from '../../../relay/mailbox/keys.js';

/*
 * Every script names, in its header comment, each KEYS[i] and ARGV[i] it reads (a range such as
 * KEYS[2..n+1] covers every index from 2 on, and a variable index), and leaves the shared helpers
 * of relay/redis/lua/common.lua to that file.
 */

const FOLDERS = [
  'relay/mailbox/lua',
  'relay/social/lua',
  'relay/redis/lua',
  'relay/account/lua',
  'relay/push/lua',
];
/** Libraries: helpers put in front of a folder's scripts, with no KEYS or ARGV of their own. */
const LIBRARIES = [
  'relay/redis/lua/common.lua',
  'relay/mailbox/lua/mailbox.lua',
  'relay/account/lua/account.lua',
  'relay/social/lua/proximity.lua',
];
const files = FOLDERS.flatMap((dir) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.lua'))
    .map((name) => `${dir}/${name}`)
    .filter((file) => !LIBRARIES.includes(file)),
);

/** The leading comment lines, and the rest. */
function split(text: string): { header: string; body: string } {
  const lines = text.split('\n');
  const end = lines.findIndex((line) => !line.startsWith('--'));
  return { header: lines.slice(0, end).join('\n'), body: lines.slice(end).join('\n') };
}

/** Indexes named in the header (a range's start: covering from there on, as `from`). */
function named(header: string, array: 'KEYS' | 'ARGV') {
  const exact = new Set<number>();
  let from = Number.POSITIVE_INFINITY;
  for (const [, index, range] of header.matchAll(
    new RegExp(`^-- ${array}\\[(\\d+)(\\.\\.[^\\]]+)?\\]`, 'gm'),
  )) {
    if (range) from = Math.min(from, Number(index));
    else exact.add(Number(index));
  }
  return { exact, from };
}

describe('lua scripts', () => {
  it('finds the scripts', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  it('reads the batch strides the store writes (relay/mailbox/keys.ts)', () => {
    const constant = (file: string, name: string) =>
      Number(
        new RegExp(`local ${name}(?:, \\w+)? = (\\d+)`).exec(
          readFileSync(`relay/mailbox/lua/${file}`, 'utf8'),
        )?.[1],
      );
    expect({
      box: constant('mailbox.lua', 'BOX_KEYS'),
      send: constant('send.lua', 'SEND_STRIDE'),
      ack: constant('ack.lua', 'ACK_STRIDE'),
      receipt: constant('receipts.lua', 'RECEIPT_STRIDE'),
    }).toEqual({ box: BOX_KEYS, send: SEND_STRIDE, ack: ACK_STRIDE, receipt: RECEIPT_STRIDE });
  });

  for (const library of LIBRARIES) {
    it(`${library} builds no key`, () => {
      expect(readFileSync(library, 'utf8')).not.toMatch(/\bprefix\b|'\{'|"\{"/);
    });
  }

  for (const file of files) {
    it(`${file} names in its header every KEYS and ARGV index it uses`, () => {
      const { header, body } = split(readFileSync(file, 'utf8'));
      for (const array of ['KEYS', 'ARGV'] as const) {
        const { exact, from } = named(header, array);
        const unnamed: string[] = [];
        for (const [use, index] of body.matchAll(new RegExp(`${array}\\[([^\\]]+)\\]`, 'g'))) {
          const n = Number(index);
          const covered = Number.isInteger(n) ? exact.has(n) || n >= from : from < Number.POSITIVE_INFINITY;
          if (!covered) unnamed.push(use);
        }
        expect(unnamed).toEqual([]);
        // Named from 1 without gaps.
        const all = [...exact].sort((a, b) => a - b);
        expect(all).toEqual(all.map((_, i) => i + 1));
      }
    });

    it(`${file} keeps to the shared helpers and builds no key`, () => {
      const { body } = split(readFileSync(file, 'utf8'));
      expect(body).not.toMatch(/local function (fmt|timed|clock)\b/);
      expect(body).not.toMatch(/\bprefix\b|'\{'|"\{"/);
    });
  }
});
