// The passby client SDK: the only door into client-sdk/. Runs unchanged in Node (pass ws's
// WebSocket), browsers and React Native; imports nothing but protocol/ and libsodium-wrappers.
export {
  ERRORS,
  type ErrorCode,
  PassbyError,
  PROTOCOL_VERSION,
  type ReceiptStatus,
  type RelayLimits,
} from '../protocol/index.js';
export { type BackoffOptions, DEFAULT_BACKOFF, fullJitter } from './backoff.js';
export { createClient, type FileMeta, PassbyClient, type SendOptions } from './client.js';
export { CLIENT_ERRORS, ClientError, type ClientErrorCode } from './errors.js';
export type { ClientEvents, IncomingFile, IncomingMessage, Progress, Sent } from './events.js';
export { createIdentity, Identity, importIdentity, userIdOf } from './identity.js';
export type { ClientOptions, Clock, SocketLike, WebSocketConstructor } from './options.js';
export { type State, type StateEvent, type StateKind, transition } from './state.js';
export { loadOrCreateIdentity, MemoryStorage, type Storage } from './storage.js';
export { createFileStorage, type FileSystem } from './storage-file.js';
