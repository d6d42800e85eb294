export { type AccountParts, createAccounts } from './accounts.js';
export {
  type Accounts,
  type ApproveResult,
  type DeviceAuth,
  type DeviceRecord,
  type Devices,
  type FriendsNotice,
  type IdentityPart,
  MAX_SLOTS,
  type MailboxPart,
  type Notifier,
  type PushPart,
  type RevokeResult,
  type SocialPart,
  type Unlinked,
} from './contract.js';
export {
  ACCOUNT_FRAME_TYPES,
  type AccountDeps,
  AccountHandlers,
  type AccountHost,
  type AccountSignals,
  deviceIdOf,
  verify,
} from './handlers.js';
export { createMemoryDevices } from './memory.js';
export { createRedisDevices, type RedisDevicesOptions } from './redis.js';
export type { AccountRecord, DeviceStore } from './store.js';
