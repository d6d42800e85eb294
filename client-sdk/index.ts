// The passby client SDK: the only door into client-sdk/. Runs unchanged in Node (pass ws's
// WebSocket), browsers and React Native; imports nothing but protocol/, libsodium-wrappers and h3-js.

export type { PushRegistration } from '../protocol/index.js';
export {
  type DeviceInfo,
  ERRORS,
  type ErrorCode,
  type FriendInfo,
  type FriendState,
  PassbyError,
  PROTOCOL_VERSION,
  type ReceiptStatus,
  type RelayLimits,
} from '../protocol/index.js';
export type { AbortSignalLike } from './abort.js';
export type { AccountExport } from './account.js';
export { type BackoffOptions, DEFAULT_BACKOFF, fullJitter } from './backoff.js';
export {
  createClient,
  type FileMeta,
  type OutboxItem,
  type OutboxView,
  PassbyClient,
  type SendOptions,
  type ShareContent,
  type Shared,
  type ShareOptions,
} from './client.js';
export { PAIRING_PREFIX } from './device-key.js';
export { Discovery, type LookupResult } from './discovery.js';
export { CLIENT_ERRORS, ClientError, type ClientErrorCode } from './errors.js';
export type {
  ClientEvents,
  ContactEvent,
  EndedCode,
  FriendEvent,
  FriendsChanged,
  IncomingFile,
  IncomingMessage,
  IncomingOffer,
  NearbyEvent,
  Progress,
  Sent,
  SentElsewhere,
} from './events.js';
/** The size of a file's chunks unless ClientOptions.fileChunkBytes says otherwise. */
export { DEFAULT_CHUNK_BYTES as DEFAULT_FILE_CHUNK_BYTES } from './file-transfer.js';
export { type Consent, Friends } from './friends.js';
export { createIdentity, Identity, importIdentity, userIdOf } from './identity.js';
export type { ClientOptions, Clock, SocketLike, WebSocketConstructor } from './options.js';
export { PAIRING_TIMEOUT_MS, type Pairing, type PairingOptions, pairDevice } from './pairing.js';
export type { SharedContent } from './payload.js';
export { normalizePhone } from './phone.js';
export { BLIND_SESSION_TAG, Proximity, type UpdateOptions, type UpdateResult } from './presence.js';
export {
  cellForFix,
  FIX_MAX_ACCURACY_METERS,
  FIX_MAX_AGE_MS,
  type Fix,
  type FixRejection,
  H3_RESOLUTION,
} from './proximity.js';
export { PushRegistrations, webPushRegistration } from './push.js';
export { SHARE_ATTEMPTS } from './share-send.js';
export { type State, type StateEvent, type StateKind, transition } from './state.js';
export { loadOrCreateIdentity, MemoryStorage, type Storage, wipeStorage } from './storage.js';
export { createFileStorage, type FileHandleLike, type FileSystem } from './storage-file.js';
export {
  createIndexedDbStorage,
  type IndexedDbFactoryLike,
  type IndexedDbStorage,
  type IndexedDbStorageOptions,
} from './storage-indexeddb.js';
export type { WaitOptions } from './wait.js';
