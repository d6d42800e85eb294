export {
  type AckResult,
  type MailboxEntry,
  noticeEntryId,
  type SendInput,
  type SendResult,
  type Signal,
  type Store,
  type StoreLimits,
} from './contract.js';
export { createMemoryStore } from './memory.js';
export { createRedisStore, type RedisStoreOptions, SELF_TIMED } from './redis.js';
