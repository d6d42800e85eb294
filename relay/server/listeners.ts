import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { SecureVersion } from 'node:tls';
import { PassbyError } from '../../protocol/index.js';
import type { RelayConfig } from '../config/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface PublicServer {
  readonly server: Server;
  readonly scheme: 'ws' | 'wss';
  /** Reads the certificate and key files again and serves them to new connections (SIGHUP). */
  reloadTls(): void;
}

/** The PEM files and minimum version, read now: a file that cannot be read fails loudly. */
function secureContext(config: Readonly<RelayConfig>) {
  const read = (name: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new PassbyError('internal_error', `could not read ${name} (${path})`, { cause: err });
    }
  };
  return {
    cert: read('PASSBY_TLS_CERT_FILE', config.tlsCertFile!),
    key: read('PASSBY_TLS_KEY_FILE', config.tlsKeyFile!),
    minVersion: config.tlsMinVersion as SecureVersion,
  };
}

/**
 * The public listener: plain HTTP (ws://), or HTTPS (wss://) when a certificate and key are set,
 * TLS 1.3 at least unless PASSBY_TLS_MIN_VERSION allows 1.2. A connection that has not upgraded
 * within the auth timeout is dropped: idle ones by the socket timeout (ws clears it on upgrade),
 * slow headers by headersTimeout, checked often, a slow TLS handshake by handshakeTimeout.
 */
export function createPublicServer(config: Readonly<RelayConfig>, handler: Handler): PublicServer {
  const timeouts = {
    headersTimeout: config.authTimeoutMs,
    requestTimeout: config.authTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, config.authTimeoutMs),
  };
  if (config.tlsCertFile === null) {
    const server = createHttpServer(timeouts, handler);
    server.timeout = config.authTimeoutMs;
    return { server, scheme: 'ws', reloadTls: () => {} };
  }
  const server = createHttpsServer(
    { ...timeouts, ...secureContext(config), handshakeTimeout: config.authTimeoutMs },
    handler,
  );
  server.timeout = config.authTimeoutMs;
  return {
    // https.Server is an http.Server to everything the relay does with it (upgrade, close).
    server: server as unknown as Server,
    scheme: 'wss',
    reloadTls: () => server.setSecureContext(secureContext(config)),
  };
}

/** The admin listener (PASSBY_ADMIN_PORT): plain HTTP for /metrics and /healthz, never WebSocket. */
export function createAdminServer(handler: Handler): Server {
  const server = createHttpServer({ headersTimeout: 5_000, requestTimeout: 5_000 }, handler);
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n'));
  return server;
}
