/**
 * Errors the SDK raises itself, next to the relay's PassbyError (protocol/errors.ts), which carries
 * a wire code and its retry flag. These codes never travel on the wire: they describe what the
 * SDK found locally (a forged ciphertext, a key that does not match its ID, a full outbox ...).
 */
export const CLIENT_ERRORS = {
  closed: 'the client was closed before the operation completed',
  outbox_full: 'the outbox holds as many sends as it may; wait for some to be stored',
  bad_key: "the relay returned a public key that does not hash to the user's ID",
  tampered: 'a ciphertext failed authentication; it was dropped and never shown to the app',
  file_incomplete: 'a file transfer is missing chunks or was truncated',
  file_corrupt: 'a file transfer failed authentication or did not match its announced size or hash',
  handler_failed: 'an app handler threw; the message was not acknowledged and will be delivered again',
  protocol: 'the relay sent something the protocol does not allow here',
  storage: "the app's Storage failed a read or a write",
  timeout: 'the relay did not answer in time',
  disconnected:
    'the connection dropped before the relay answered; the request may or may not have taken effect',
  too_large: 'the request does not fit in one frame the relay accepts',
  wrong_relay:
    "the relay's challenge named another relay ID than options.relayId; the client did not sign it and stays closed",
  crypto_unavailable: "the platform's libsodium lacks functions the SDK needs",
  cancelled: 'the app cancelled the operation (its AbortSignal fired, or outbox.cancel)',
  connection_failed: 'the WebSocket to the relay failed or closed before the relay answered',
  pairing_failed:
    "the relay's pairing box did not open with this device's key, or held another identity than the relay welcomed",
  not_supported:
    'the relay speaks an older protocol version that lacks this (devices, export and erase need version 4)',
} as const;

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

/** An error found by the SDK itself. Relay errors are PassbyError (code from the protocol table). */
export class ClientError extends Error {
  readonly code: ClientErrorCode;

  constructor(code: ClientErrorCode, message?: string, options?: { cause?: unknown }) {
    super(withCause(code, message ?? CLIENT_ERRORS[code], options?.cause), options);
    this.name = 'ClientError';
    this.code = code;
  }
}

/**
 * A storage error names what the app's Storage threw (a QuotaExceededError, say) in its own
 * message, not only in `cause`, so a log line of the message alone says what went wrong.
 */
function withCause(code: ClientErrorCode, message: string, cause: unknown): string {
  if (code !== 'storage' || typeof cause !== 'object' || cause === null) return message;
  const { name, message: text } = cause as { name?: unknown; message?: unknown };
  const named = [name, text].filter((part) => typeof part === 'string' && part !== '').join(': ');
  return named === '' || message.includes(named) ? message : `${message} (${named})`;
}
