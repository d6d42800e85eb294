export { fromBase64url, toBase64url } from './base64url.js';
export { decodeClientFrame, decodeRelayFrame, encodeFrame, splitFrame } from './codec.js';
export {
  ERROR_CODES,
  ERRORS,
  type ErrorCode,
  type ErrorSpec,
  errorForCloseCode,
  isErrorCode,
  PassbyError,
} from './errors.js';
export type { Decoded, DecodeFailure } from './fields.js';
export type {
  AckFrame,
  AuthFrame,
  ChallengeFrame,
  ClientFrame,
  DrainedFrame,
  ErrorFrame,
  HelloFrame,
  KeysReplyFrame,
  KeysRequestFrame,
  MessageFrame,
  ReceiptFrame,
  ReceiptStatus,
  RelayFrame,
  RelayLimits,
  SendFrame,
  StoredFrame,
  WelcomeFrame,
} from './frames.js';
export {
  AUTH_DOMAIN,
  authMessage,
  NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  USER_ID_DOMAIN,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
  userIdInput,
} from './identity.js';
export {
  ENTRY_ID_PATTERN,
  LIMITS,
  MAX_FRAME_BYTES,
  MESSAGE_ID_PATTERN,
  USER_ID_PATTERN,
} from './limits.js';
export {
  type BlindFrame,
  CELL_PATTERN,
  type ConsentFrame,
  type DiscoverFrame,
  E164_PATTERN,
  type FriendFrame,
  type FriendInfo,
  type FriendOp,
  type FriendState,
  type FriendsReplyFrame,
  type FriendsRequestFrame,
  type LookupFrame,
  type LookupReplyFrame,
  type Notice,
  type NoticeFrame,
  type OkFrame,
  type PresenceFrame,
  SOCIAL_LIMITS,
  type SocialClientFrame,
  type SocialRelayFrame,
  TOKEN_PATTERN,
} from './social-frames.js';
export { PROTOCOL_VERSION, SUPPORTED_VERSIONS } from './version.js';
