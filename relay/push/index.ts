export {
  decodeRegistration,
  encodeRegistration,
  type OnlineConn,
  type PushStore,
  type Woken,
} from './contract.js';
export { PushHandlers, type PushHost } from './handlers.js';
export { createMemoryPushStore } from './memory.js';
export { createRedisPushStore } from './redis.js';
export {
  FAIL_REASONS,
  type FailReason,
  type Outcome,
  outcomeOf,
  retryAfterMs,
  type Sender,
} from './senders/outcome.js';
export { pushSenders } from './setup.js';
export {
  ONLINE_MS,
  WAKE_QUEUE,
  type WakeMetrics,
  Waker,
  type WakerOptions,
} from './waker.js';
