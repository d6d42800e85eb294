export {
  type AckResult,
  copyEntryId,
  type Identities,
  MAX_SLOTS,
  type Mailbox,
  type MailboxEntry,
  type MailboxProbe,
  type MailboxSummary,
  noticeEntryId,
  type SendInput,
  type SendResult,
  type Signal,
  type SignalBus,
  type Store,
  type StoreHealth,
  type StoreLimits,
} from './contract.js';
export { createMemoryStore, type MemoryStore } from './memory.js';
export { createRedisStore, type RedisStoreOptions, SELF_TIMED } from './redis.js';
export { emptySummary } from './summary.js';
