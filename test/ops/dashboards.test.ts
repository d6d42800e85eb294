import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../protocol/index.js';
import { newIdentity, RawClient } from '../support/raw-client.js';
import { useRelay } from '../support/relay-fixture.js';

/*
 * ops/grafana-dashboard.json and ops/prometheus-alerts.yml name metrics; a renamed or dropped
 * metric would leave a panel empty and an alert silent. Every name they use must be in a real
 * relay's /metrics, every error code they match must exist, and every alert has its runbook line.
 */
const fixture = useRelay();
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

const dashboard = JSON.parse(read('ops/grafana-dashboard.json')) as Dashboard;
const rules = read('ops/prometheus-alerts.yml');
/** The rules file's alerts, each with its expression, read line by line (one-line `expr:`s). */
const alerts = [...rules.matchAll(/- alert: (\S+)\n\s+expr: (.+)\n\s+for: (\S+)/g)].map((m) => ({
  name: m[1]!,
  expr: m[2]!,
  for: m[3]!,
}));
const panelExprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));

/** Metric names in a PromQL expression: identifiers with the prefixes passby, nodejs and process. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:passby|nodejs|process)_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

/** Whether `name` is declared in the scrape: itself, or a histogram's _bucket/_sum/_count. */
function declared(scrape: string, name: string): boolean {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  const type = (n: string) => new RegExp(`^# TYPE ${n} (\\w+)$`, 'm').exec(scrape)?.[1];
  return type(name) !== undefined || (base !== name && type(base) === 'histogram');
}

async function scrape(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${fixture.relay.port}/metrics`)).text();
}

describe('the Grafana dashboard and the Prometheus alert rules', () => {
  it('are read whole: panels with queries, alerts with an expression and a duration', () => {
    expect(panelExprs.length).toBeGreaterThanOrEqual(10);
    expect(alerts.map((a) => a.name)).toEqual([...rules.matchAll(/- alert: (\S+)/g)].map((m) => m[1]));
    expect(alerts.length).toBeGreaterThanOrEqual(6);
  });

  it('name only metrics that a relay on Redis serves at /metrics', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const ra = await RawClient.login(fixture.relay.url, alice);
    await ra.sendAndWait({ t: 'send', to: bob.id, mid: 'one', body: Buffer.from('x') });
    await ra.close();
    const text = await scrape();
    const used = [...panelExprs, ...alerts].flatMap((q) =>
      metricNames(q.expr).map((name) => ({ name, in: q })),
    );
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((u) => !declared(text, u.name))).toEqual([]);
  });

  it('match only error codes of the closed table', () => {
    const codes = [...panelExprs, ...alerts].flatMap((q) =>
      [...q.expr.matchAll(/code(?:=|!~|=~)"([^"]+)"/g)].flatMap((m) => m[1]!.split('|')),
    );
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((c) => !(ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it('cover what matters: store, errors, delivery latency, mailbox growth, slow consumers, event-loop lag', () => {
    const expressions = alerts.map((a) => a.expr).join('\n');
    const wanted = [
      'passby_redis_connected',
      'passby_errors_total',
      'passby_delivery_latency_seconds_bucket',
      'passby_messages_stored_total',
      'code="slow_consumer"',
      'nodejs_eventloop_lag_p99_seconds',
    ];
    expect(wanted.filter((w) => !expressions.includes(w))).toEqual([]);
  });

  it('have a one-line runbook in the README for every alert', () => {
    const readme = read('README.md');
    const section = readme.slice(readme.indexOf('## Alerts'));
    expect(readme).toContain('## Alerts');
    expect(
      alerts.filter((a) => !new RegExp(`^\\| \`${a.name}\` +\\|`, 'm').test(section)).map((a) => a.name),
    ).toEqual([]);
  });
});
