import { describe, expect, it } from 'vitest';
import { Args } from '../../../relay/redis/eval.js';

/** RESP of an EVALSHA/EVAL call with no keys, the way redis-cli would write it. */
function resp(name: string, body: string, args: (string | Buffer)[]): Buffer {
  const parts = [name, body, '0', ...args].map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  return Buffer.concat([
    Buffer.from(`*${parts.length}\r\n`),
    ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')]),
  ]);
}

describe('script call arguments (Args)', () => {
  const sha = 'a'.repeat(40);

  it('writes text, integers and bytes as RESP bulk strings after the EVALSHA head', () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const args = new Args(8).text('pb:').int(0).int(1_764_000_000_123).text('').bytes(body).text('m:x:y');
    expect(args.request('evalsha', sha)).toEqual(
      resp('evalsha', sha, ['pb:', '0', '1764000000123', '', body, 'm:x:y']),
    );
  });

  it('writes non-ASCII and long text by its UTF-8 bytes', () => {
    const long = `${'é'.repeat(100)}${'z'.repeat(200)}`;
    const args = new Args().text('pré·fix:').text('ascii').text(long).text('x'.repeat(129));
    expect(args.request('evalsha', sha)).toEqual(
      resp('evalsha', sha, ['pré·fix:', 'ascii', long, 'x'.repeat(129)]),
    );
  });

  it('builds the EVAL fallback, whose head is the whole script, from the same arguments', () => {
    const lua = `return ARGV[1] -- ${'.'.repeat(500)}`;
    const args = new Args().text('one').int(2);
    expect(args.request('evalsha', sha)).toEqual(resp('evalsha', sha, ['one', '2']));
    expect(args.request('eval', lua)).toEqual(resp('eval', lua, ['one', '2']));
  });

  it('writes every integer in decimal, across the digit counts and the 1e9 split', () => {
    const numbers = [
      0,
      9,
      10,
      99,
      100,
      999_999_999,
      1e9,
      1e9 + 1,
      1_000_000_009,
      1_764_000_000_123,
      2 ** 53 - 1,
    ];
    for (let n = 1; n < 2 ** 53; n = n * 7 + 3) numbers.push(n);
    const args = new Args();
    for (const n of numbers) args.int(n);
    expect(args.request('evalsha', sha)).toEqual(resp('evalsha', sha, numbers.map(String)));
  });

  it('refuses a number it cannot write as a non-negative integer', () => {
    for (const n of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => new Args().int(n)).toThrow(RangeError);
  });
});
