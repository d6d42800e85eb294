export { initCrypto } from './auth.js';
export { Hub } from './hub.js';
export { InflightBudget } from './inflight.js';
export { Session } from './session.js';
