import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastHistogram } from '../../../relay/telemetry/histogram.js';

describe('the message-path histogram', () => {
  it('renders cumulative buckets, +Inf, sum and count per label value, as Prometheus expects', async () => {
    const registry = new Registry();
    const h = new FastHistogram('x_bytes', 'sizes', 'direction', [10, 100], registry);
    const into = h.child('in');
    for (const v of [5, 10, 11, 500]) into.observe(v);
    h.child('out');
    const lines = (await registry.metrics()).trim().split('\n');
    expect(lines).toEqual([
      '# HELP x_bytes sizes',
      '# TYPE x_bytes histogram',
      'x_bytes_bucket{le="10",direction="in"} 2',
      'x_bytes_bucket{le="100",direction="in"} 3',
      'x_bytes_bucket{le="+Inf",direction="in"} 4',
      'x_bytes_sum{direction="in"} 526',
      'x_bytes_count{direction="in"} 4',
      'x_bytes_bucket{le="10",direction="out"} 0',
      'x_bytes_bucket{le="100",direction="out"} 0',
      'x_bytes_bucket{le="+Inf",direction="out"} 0',
      'x_bytes_sum{direction="out"} 0',
      'x_bytes_count{direction="out"} 0',
    ]);
  });

  it('hands out one series per label value', () => {
    const h = new FastHistogram('y', 'y', 'op', [1], new Registry());
    expect(h.child('a')).toBe(h.child('a'));
    expect(h.child('a')).not.toBe(h.child('b'));
  });
});
