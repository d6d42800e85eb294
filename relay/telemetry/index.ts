export { createLogger, type Logger, REDACTED_PATHS } from './logger.js';
export { Metrics, QUEUED_AFTER_MS } from './metrics.js';
export { timeStore } from './store-timing.js';
export { VERSION } from './version.js';
