import { type RelayConfig, resolveConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { type Relay, startRelay as start } from './server.js';

export { ConfigError, DEFAULTS, loadConfig, type RelayConfig, resolveConfig, VARIABLES } from './config.js';
export { createLogger, type Logger, REDACTED_PATHS } from './logger.js';
export { openStores, type Relay, type RelayDeps, type Stores } from './server.js';
export type { SocialStore } from './social-store.js';
export type { Store, StoreLimits } from './store.js';
export { createMemoryStore } from './store-memory.js';
export { createRedisStore } from './store-redis.js';

/** Starts a relay from a partial configuration (tests, embedding); logs are silent unless given. */
export function startRelay(
  options: { config?: Partial<RelayConfig>; logger?: Logger; now?: () => number } = {},
): Promise<Relay> {
  const config = resolveConfig({ host: '127.0.0.1', port: 0, ...options.config });
  const log = options.logger ?? createLogger('silent');
  return options.now ? start({ config, log, now: options.now }) : start({ config, log });
}
