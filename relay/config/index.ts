export {
  ConfigError,
  clientLimits,
  DEFAULTS,
  loadConfig,
  type RelayConfig,
  redisEndpointOf,
  resolveConfig,
  unknownVariables,
  VARIABLES,
} from './config.js';
