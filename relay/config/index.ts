export {
  ConfigError,
  clientLimits,
  DEFAULTS,
  loadConfig,
  presenceEndpointOf,
  type RelayConfig,
  redisEndpointOf,
  resolveConfig,
  unknownVariables,
  VARIABLES,
} from './config.js';
