export { initCrypto } from './auth.js';
export { type Attached, Hub, type Presence } from './hub.js';
export { InflightBudget } from './inflight.js';
export { Session } from './session.js';
