export {
  ConfigError,
  clientLimits,
  DEFAULTS,
  loadConfig,
  type RelayConfig,
  resolveConfig,
  unknownVariables,
  VARIABLES,
} from './config.js';
