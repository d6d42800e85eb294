/**
 * The one closed table of passby error codes. Each code says whether the relay answers it in-band
 * (`close: null`, the socket stays open) or closes the socket with its own close code, and whether a
 * client should retry (the same frame later, or a reconnect for closing codes).
 * PROTOCOL.md documents every row; a catalogue test keeps the two in step.
 */
export const ERRORS = {
  malformed_frame: { close: null, retry: false, text: 'the frame could not be decoded' },
  unknown_type: { close: null, retry: false, text: 'the frame type is not known' },
  invalid_field: { close: null, retry: false, text: 'a field is missing or has a bad type or format' },
  out_of_order: { close: null, retry: false, text: 'the frame is not allowed at this point of the session' },
  auth_required: { close: null, retry: false, text: 'authenticate before sending this frame' },
  payload_too_large: { close: null, retry: false, text: 'the payload is larger than the relay accepts' },
  unknown_recipient: { close: null, retry: false, text: 'no user with that ID has ever connected' },
  quota_exceeded: { close: null, retry: true, text: "the recipient's mailbox is full" },
  rate_limited: { close: null, retry: true, text: 'too many frames; slow down' },
  store_unavailable: { close: null, retry: true, text: 'the relay could not reach its store' },
  not_friends: { close: null, retry: false, text: 'that user is not your friend' },
  no_request: { close: null, retry: false, text: 'there is no friend request from that user' },
  lookup_limited: { close: null, retry: true, text: 'too many contact look-ups; try again later' },
  presence_too_frequent: { close: null, retry: true, text: 'presence may be updated once a minute' },
  unknown_offer: { close: null, retry: false, text: 'there is no such offer waiting for you' },
  share_incomplete: { close: null, retry: true, text: 'not all parts of the share are stored yet' },
  implausible_move: {
    close: null,
    retry: false,
    text: 'the move since the last update is faster than anyone travels',
  },
  too_many_devices: { close: null, retry: false, text: 'the identity has the most devices the relay allows' },
  device_taken: {
    close: null,
    retry: false,
    text: 'that device key belongs to another identity or was revoked',
  },
  no_device: { close: null, retry: false, text: 'the identity has no such device' },
  last_device: { close: null, retry: false, text: "an identity's last device cannot be revoked" },
  invalid_signature: {
    close: null,
    retry: false,
    text: 'the signature does not verify for the identity key',
  },
  push_unavailable: {
    close: null,
    retry: false,
    text: 'this relay sends no wake-up pushes of that kind',
  },
  unsupported_version: { close: 4000, retry: false, text: 'no protocol version in common' },
  auth_failed: { close: 4001, retry: false, text: 'authentication failed' },
  auth_expired: {
    close: 4002,
    retry: true,
    text: 'the authentication timestamp is outside the allowed window',
  },
  auth_timeout: { close: 4003, retry: true, text: 'authentication did not complete in time' },
  replaced: { close: 4004, retry: false, text: 'a newer connection of the same identity replaced this one' },
  slow_consumer: { close: 4005, retry: true, text: 'the client read too slowly and the send buffer filled' },
  too_many_errors: { close: 4006, retry: false, text: 'too many bad frames on this connection' },
  internal_error: {
    close: 4007,
    retry: true,
    text: 'the relay failed while handling a frame; reconnect and send it again',
  },
  unknown_device: {
    close: 4008,
    retry: true,
    text: 'this device key is not linked to an identity (yet): have another device approve it',
  },
  device_revoked: { close: 4009, retry: false, text: 'this device was revoked or unlinked' },
  device_required: {
    close: 4010,
    retry: false,
    text: 'this identity has devices: authenticate with a device key (protocol version 4)',
  },
  erased: { close: 4011, retry: false, text: 'the account was erased' },
  going_away: { close: 1001, retry: true, text: 'the relay is shutting down' },
} as const satisfies Record<string, ErrorSpec>;

export interface ErrorSpec {
  /** WebSocket close code, or null when the error is answered in-band and the socket stays open. */
  readonly close: number | null;
  /** Whether retrying (the frame, or reconnecting when the socket closed) may succeed. */
  readonly retry: boolean;
  /** A short, stable human description. */
  readonly text: string;
}

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** The close code's error, when the close code is one of ours. */
export function errorForCloseCode(close: number): ErrorCode | undefined {
  return ERROR_CODES.find((code) => ERRORS[code].close === close);
}

/** The single error class of passby: a code from the table, a message and an optional cause. */
export class PassbyError extends Error {
  readonly code: ErrorCode;
  readonly retry: boolean;
  readonly close: number | null;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].text, options);
    this.name = 'PassbyError';
    this.code = code;
    this.retry = ERRORS[code].retry;
    this.close = ERRORS[code].close;
  }
}
