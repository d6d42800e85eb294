// The container's HEALTHCHECK: GET /healthz on this host, exit 0 when the relay answers 200.
// It asks the admin port when one is set (plain HTTP on loopback), otherwise the public port,
// over TLS when the relay serves it (its certificate names the public host, not 127.0.0.1, so
// it is not verified here: the request never leaves the machine).
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const env = process.env;
const admin = env.PASSBY_ADMIN_PORT;
const tls = admin === undefined && env.PASSBY_TLS_CERT_FILE !== undefined;
const port = Number(admin ?? env.PASSBY_PORT ?? 8080);
const get = tls ? httpsGet : httpGet;
const request = get(
  { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 2000 },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => process.exit(1));
