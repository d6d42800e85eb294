export { openStores, type Relay, type RelayDeps, type Stores, startRelay } from './server.js';
