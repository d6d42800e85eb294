export { type AofRewriter, aofRewriter } from './aof.js';
export { Batcher, type BatcherOptions, MAX_BATCH, MAX_BATCH_BYTES } from './batcher.js';
export {
  type ConnectOptions,
  connectRedis,
  failFast,
  type RedisClient,
  type RedisEndpoint,
  release,
  SUBSCRIBER_SLOTS_REFRESH_MS,
  serverConnections,
  unsentBytes,
} from './connection.js';
export { Args, copiedBytes, evalScript, PreparedCommand, runScript, type Script, script } from './eval.js';
export { type Leases, leases } from './lease.js';
export { loadScripts } from './lua.js';
export { indexSlot, leasedNodes, ShardWatch, shardKey, slotsByNode } from './shards.js';
export { SLOTS, slotOf, slotTag, userSlot } from './slots.js';
