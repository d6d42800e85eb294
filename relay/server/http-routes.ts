import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger, Metrics } from '../telemetry/index.js';
import type { HealthCheck } from './health.js';

export interface RouteDeps {
  health: HealthCheck;
  metrics: Metrics;
  log: Logger;
  storeKind: string;
  connections(): number;
  stopping(): boolean;
}

/**
 * The relay's plain HTTP answers: GET /healthz (200 or 503 with the store's kind and the number of
 * connections) and, where `withMetrics` (the public port when no admin port is set, and the admin
 * port), GET /metrics. Anything else is 404. A failure to render is a 500 and a log line, never an
 * unhandled rejection.
 */
export function httpRoutes(
  deps: RouteDeps,
  withMetrics: boolean,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    answer(deps, withMetrics, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'http answer failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"status":"error"}');
    });
  };
}

async function answer(
  deps: RouteDeps,
  withMetrics: boolean,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'GET' && path === '/healthz') {
    const ok = !deps.stopping() && (await deps.health.check());
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        status: ok ? 'ok' : 'unavailable',
        store: deps.storeKind,
        connections: deps.connections(),
      }),
    );
    return;
  }
  if (withMetrics && req.method === 'GET' && path === '/metrics') {
    const text = await deps.metrics.render();
    res.writeHead(200, { 'content-type': deps.metrics.contentType });
    res.end(text);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"status":"not found"}');
}
