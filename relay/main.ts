import { ConfigError, loadConfig, unknownVariables } from './config/index.js';
import { startRelay } from './server/index.js';
import { createLogger, VERSION } from './telemetry/index.js';

/*
 * The relay process: config -> logger -> store -> http + ws. Stops gracefully on SIGTERM and
 * SIGINT: no new connections, sockets closed with going_away, store writes allowed to finish.
 * SIGHUP reloads the TLS certificate and key.
 */
if (process.argv.includes('--version')) {
  process.stdout.write(`passby relay ${VERSION}\n`);
  process.exit(0);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}

const log = createLogger(config.logLevel);
for (const { name, suggestion } of unknownVariables()) {
  log.warn({ variable: name, suggestion }, 'unknown PASSBY_ variable ignored');
}
const relay = await startRelay({ config, log }).catch((err: unknown) => {
  log.fatal({ err }, 'relay failed to start');
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stop requested');
    relay.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

// SIGHUP: read the TLS certificate and key again (a renewed certificate, without a restart).
process.on('SIGHUP', () => {
  if (!relay.reloadTls()) log.warn('SIGHUP: nothing reloaded (no TLS, or the new files are bad)');
});
