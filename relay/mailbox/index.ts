export {
  type AckResult,
  type Identities,
  type Mailbox,
  type MailboxEntry,
  noticeEntryId,
  type SendInput,
  type SendResult,
  type Signal,
  type SignalBus,
  type Store,
  type StoreHealth,
  type StoreLimits,
} from './contract.js';
export { createMemoryStore } from './memory.js';
export { createRedisStore, type RedisStoreOptions, SELF_TIMED } from './redis.js';
