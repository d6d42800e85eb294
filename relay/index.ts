import { type RelayConfig, resolveConfig } from './config/index.js';
import { type Relay, startRelay as start } from './server/index.js';
import { createLogger, type Logger } from './telemetry/index.js';

export {
  ConfigError,
  DEFAULTS,
  loadConfig,
  type RelayConfig,
  resolveConfig,
  VARIABLES,
} from './config/index.js';
export type { Store, StoreLimits } from './mailbox/index.js';
export { createMemoryStore, createRedisStore } from './mailbox/index.js';
export { openStores, type Relay, type RelayDeps, type Stores } from './server/index.js';
export type { SocialStore } from './social/index.js';
export { createLogger, type Logger, REDACTED_PATHS } from './telemetry/index.js';

/** Starts a relay from a partial configuration (tests, embedding); logs are silent unless given. */
export function startRelay(
  options: { config?: Partial<RelayConfig>; logger?: Logger; now?: () => number } = {},
): Promise<Relay> {
  const config = resolveConfig({ host: '127.0.0.1', port: 0, ...options.config });
  const log = options.logger ?? createLogger('silent');
  return options.now ? start({ config, log, now: options.now }) : start({ config, log });
}
