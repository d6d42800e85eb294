import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../bench/cli.js';
import { bucketOf, Histogram, upperOf } from '../../bench/histogram.js';
import { Ledger, makeBody, readBody } from '../../bench/ledger.js';
import { roundOrder, windowFor } from '../../bench/measure.js';
import { diffCounts, totalOf } from '../../bench/redis-stats.js';
import { listeningPort } from '../../bench/server-process.js';
import { human, median, medianRatio, round3, split } from '../../bench/stats.js';
import { grid } from '../../bench/table.js';
import { SERVER_NODE_FLAGS } from '../../bench/targets.js';

describe('histogram', () => {
  it('keeps every value within 1.6% of its bucket bound', () => {
    for (const v of [0, 1, 63, 64, 65, 127, 128, 1000, 12_345, 999_999, 123_456_789]) {
      const upper = upperOf(bucketOf(v));
      expect(upper).toBeGreaterThanOrEqual(v);
      expect(upper - v).toBeLessThanOrEqual(Math.max(0, v * 0.016));
    }
  });

  it('reports percentiles and max of what it recorded', () => {
    const h = new Histogram();
    for (let i = 1; i <= 10_000; i++) h.record(i);
    expect(h.percentile(50)).toBeGreaterThanOrEqual(5_000);
    expect(h.percentile(50)).toBeLessThanOrEqual(5_000 * 1.016);
    expect(h.percentile(99)).toBeGreaterThanOrEqual(9_900);
    expect(h.percentile(100)).toBe(10_000);
    expect(h.count).toBe(10_000);
  });

  it('merges what another process recorded', () => {
    const a = new Histogram();
    const b = new Histogram();
    a.record(10);
    b.record(1_000_000);
    a.merge(b.toData());
    expect(a.count).toBe(2);
    expect(a.max).toBe(1_000_000);
    expect(Histogram.from(a.toData()).percentile(50)).toBe(10);
  });
});

describe('ledger', () => {
  it('counts duplicates and what never arrived', () => {
    const l = new Ledger(2);
    const s0 = l.nextSeq(0);
    const s1 = l.nextSeq(0);
    l.nextSeq(1);
    expect(l.deliver(0, s0)).toBe(true);
    expect(l.deliver(0, s0)).toBe(false);
    expect(l.deliver(0, s1)).toBe(true);
    expect(l.deliver(1, 7)).toBe(false);
    expect(l.counts).toMatchObject({ sent: 3, delivered: 2, duplicated: 1, unexpected: 1 });
    expect(l.missing()).toBe(1);
    expect(l.outstanding(1)).toBe(1);
  });

  it('stamps and reads a payload', () => {
    const body = makeBody(new Uint8Array(1024).fill(7), 256, 0x10002, 42, 1234.5);
    expect(body.length).toBe(256);
    expect(readBody(body)).toEqual({ stream: 0x10002, seq: 42, time: 1234.5 });
    expect(body[255]).toBe(7);
  });
});

describe('figures', () => {
  it('takes the median of per-round ratios', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(medianRatio([10, 20, 30], [10, 10, 10])).toBe(2);
    expect(Number.isNaN(medianRatio([1], [0]))).toBe(true);
  });

  it('formats numbers for people and for JSON', () => {
    expect(human(0)).toBe('0');
    expect(human(12_345)).toBe('12.3k');
    expect(human(Number.NaN)).toBe('-');
    expect(round3(0.123456)).toBe(0.123);
    expect(round3(Number.NaN)).toBeNull();
  });

  it('splits work evenly and rotates target order', () => {
    expect(split(10, 3)).toEqual([4, 3, 3]);
    expect(roundOrder(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(windowFor(256)).toBe(32);
    expect(windowFor(65_536)).toBe(4);
  });

  it('charges Redis commands without the bench own ones', () => {
    const d = diffCounts({ evalsha: 1, info: 5 }, { evalsha: 11, info: 9, publish: 3 });
    expect(d).toEqual({ evalsha: 10, publish: 3 });
    expect(totalOf(d)).toBe(13);
  });

  it('aligns a table', () => {
    const lines = grid(['a', 'bb'], [['xyz', '1']]);
    expect(lines).toEqual(['  a    bb', '  ---  --', '  xyz   1']);
  });
});

describe('command line', () => {
  it('reads the options and refuses unknown ones', () => {
    const o = parseArgs(['--quick', '--json', 'out.json', '--scenarios', 'throughput,drain', '--rounds=5']);
    expect(o).toMatchObject({ quick: true, json: 'out.json', scenarios: ['throughput', 'drain'], rounds: 5 });
    expect(o.duration).toBe(1);
    expect(() => parseArgs(['--nope', '1'])).toThrow(/unknown option/);
    expect(() => parseArgs(['--scenarios', 'warp'])).toThrow(/unknown scenario/);
    expect(() => parseArgs(['--relay-url', 'ws://example.com'])).toThrow(/loopback/);
  });

  it('finds the port in a listening log line', () => {
    expect(listeningPort('{"level":30,"msg":"relay listening","port":4321}')).toBe(4321);
    expect(listeningPort('{"msg":"other","port":1}')).toBeUndefined();
    expect(listeningPort('not json')).toBeUndefined();
  });
});

describe('server flags', () => {
  it('runs the bench relay with the V8 flags of npm start', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: { start: string };
    };
    const flags = pkg.scripts.start.split(' ').filter((w) => w.startsWith('--'));
    expect(flags).toEqual([...SERVER_NODE_FLAGS]);
  });
});
