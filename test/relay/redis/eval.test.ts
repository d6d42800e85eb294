import { describe, expect, it } from 'vitest';
import { Args, LARGE_ARGUMENT } from '../../../relay/redis/eval.js';

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

  it('leaves large bytes uncopied, as parts of their own between the runs of the request', () => {
    const large = Buffer.alloc(LARGE_ARGUMENT, 7);
    const larger = Buffer.alloc(3 * LARGE_ARGUMENT, 9);
    // A small first capacity: the buffer grows between and after the large parts.
    const args = new Args(4)
      .text('k')
      .endKeys()
      .bytes(large)
      .int(5)
      .text('x'.repeat(300))
      .bytes(larger)
      .text('end');
    const parts = args.requestParts('evalsha', sha);
    // The head, the run up to the first large bytes, them, the run between, the second, the rest.
    expect(parts.length).toBe(6);
    expect(parts[2]).toBe(large);
    expect(parts[4]).toBe(larger);
    expect(parts[5]!.toString()).toBe('\r\n$3\r\nend\r\n');
    const whole = Buffer.concat([
      Buffer.from(`*9\r\n$7\r\nevalsha\r\n$40\r\n${sha}\r\n$1\r\n1\r\n`),
      ...['k'].flatMap((a) => [Buffer.from(`$${a.length}\r\n${a}\r\n`)]),
      Buffer.from(`$${large.length}\r\n`),
      large,
      Buffer.from(`\r\n$1\r\n5\r\n$300\r\n${'x'.repeat(300)}\r\n$${larger.length}\r\n`),
      larger,
      Buffer.from('\r\n$3\r\nend\r\n'),
    ]);
    expect(Buffer.concat(parts)).toEqual(whole);
    expect(args.request('evalsha', sha)).toEqual(whole);
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
