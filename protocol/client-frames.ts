import { validateAccountFrame, validateDeviceAuth } from './account-frames.js';
import { type Decoded, fail, isSafeInt, isUserId, noBody, onlyFields } from './fields.js';
import type {
  AckBatchFrame,
  AckFrame,
  AuthFrame,
  ClientFrame,
  HelloFrame,
  KeysRequestFrame,
  SendFrame,
} from './frames.js';
import { ENTRY_ID_PATTERN, LIMITS, MESSAGE_ID_PATTERN } from './limits.js';
import { validatePushFrame } from './push-frames.js';
import { validateShare, validateSocialFrame } from './social-frames.js';

/** Validates the parsed header and body of a frame a client sent. */
export function validateClientFrame(h: Record<string, unknown>, body: Uint8Array): Decoded<ClientFrame> {
  switch (h.t) {
    case 'hello':
      return noBody(body, validateHello(h));
    case 'auth':
      return 'dk' in h ? noBody(body, validateDeviceAuth(h)) : noBody(body, validateAuth(h));
    case 'send':
      return validateSend(h, body);
    case 'ack':
      return noBody(body, validateAck(h));
    case 'share':
      return validateShare(h, body);
    case 'keys':
      return requestNoBody(body, validateKeysRequest(h));
    default:
      return requestNoBody(
        body,
        (validateSocialFrame(h) as Decoded<ClientFrame> | undefined) ??
          validateAccountFrame(h) ??
          validatePushFrame(h) ??
          fail('unknown_type', `unknown frame type "${String(h.t).slice(0, 32)}"`),
      );
  }
}

/** noBody for a request: a refused body still names the request's `rid`, as every refusal of it does. */
function requestNoBody<F>(body: Uint8Array, result: Decoded<F>): Decoded<F> {
  const checked = noBody(body, result);
  if (checked.ok || !result.ok) return checked;
  const rid = (result.frame as { rid?: unknown }).rid;
  return typeof rid === 'number' ? { ...checked, ref: String(rid) } : checked;
}

function validateHello(h: Record<string, unknown>): Decoded<HelloFrame> {
  const extra = onlyFields(h, ['t', 'versions']);
  if (extra) return fail('invalid_field', `hello has an unknown field "${extra.slice(0, 32)}"`);
  const v = h.versions;
  if (!Array.isArray(v) || v.length === 0 || v.length > 16 || !v.every((x) => isSafeInt(x, 1, 65535))) {
    return fail('invalid_field', 'hello.versions must be a non-empty array of up to 16 integers');
  }
  return { ok: true, frame: { t: 'hello', versions: v as number[] } };
}

function validateAuth(h: Record<string, unknown>): Decoded<AuthFrame> {
  const extra = onlyFields(h, ['t', 'pk', 'ts', 'sig']);
  if (extra) return fail('invalid_field', `auth has an unknown field "${extra.slice(0, 32)}"`);
  if (typeof h.pk !== 'string' || h.pk.length !== 43)
    return fail('invalid_field', 'auth.pk must be 32 bytes in base64url');
  if (typeof h.sig !== 'string' || h.sig.length !== 86)
    return fail('invalid_field', 'auth.sig must be 64 bytes in base64url');
  if (!isSafeInt(h.ts, 0, Number.MAX_SAFE_INTEGER))
    return fail('invalid_field', 'auth.ts must be milliseconds since the epoch');
  return { ok: true, frame: { t: 'auth', pk: h.pk, ts: h.ts, sig: h.sig } };
}

function validateSend(h: Record<string, unknown>, body: Uint8Array): Decoded<SendFrame> {
  const ref = typeof h.mid === 'string' && MESSAGE_ID_PATTERN.test(h.mid) ? h.mid : undefined;
  const extra = onlyFields(h, ['t', 'to', 'mid', 'ttl', 'receipt', 'offer']);
  if (extra) return fail('invalid_field', `send has an unknown field "${extra.slice(0, 32)}"`, ref);
  if (h.offer !== undefined && (typeof h.offer !== 'string' || !MESSAGE_ID_PATTERN.test(h.offer))) {
    return fail('invalid_field', 'send.offer must be the mid of a share', ref);
  }
  if (ref === undefined) return fail('invalid_field', 'send.mid must be 1-64 characters of [A-Za-z0-9_-]');
  if (!isUserId(h.to))
    return fail('invalid_field', 'send.to must be a user ID (22 characters of base64url)', ref);
  if (h.ttl !== undefined && !isSafeInt(h.ttl, 1, LIMITS.maxTtlSeconds)) {
    return fail(
      'invalid_field',
      `send.ttl must be an integer from 1 to ${LIMITS.maxTtlSeconds} seconds`,
      ref,
    );
  }
  if (h.receipt !== undefined && typeof h.receipt !== 'boolean')
    return fail('invalid_field', 'send.receipt must be a boolean', ref);
  if (body.length === 0) return fail('invalid_field', 'send carries an empty body', ref);
  if (body.length > LIMITS.maxBodyBytes) {
    return fail('payload_too_large', `body of ${body.length} bytes exceeds ${LIMITS.maxBodyBytes}`, ref);
  }
  const frame: SendFrame = { t: 'send', to: h.to, mid: ref, body };
  if (h.ttl !== undefined) frame.ttl = h.ttl as number;
  if (h.receipt !== undefined) frame.receipt = h.receipt;
  if (h.offer !== undefined) frame.offer = h.offer as string;
  return { ok: true, frame };
}

function validateAck(h: Record<string, unknown>): Decoded<AckFrame | AckBatchFrame> {
  const extra = onlyFields(h, ['t', 'id', 'ids']);
  if (extra) return fail('invalid_field', `ack has an unknown field "${extra.slice(0, 32)}"`);
  if (h.ids !== undefined) {
    // Version 3 (the relay refuses it in older sessions). An ID may repeat: acks are idempotent.
    const ids = h.ids;
    if (h.id !== undefined) return fail('invalid_field', 'ack carries either id or ids, not both');
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > LIMITS.maxAcksPerFrame ||
      !ids.every((id) => typeof id === 'string' && ENTRY_ID_PATTERN.test(id))
    ) {
      return fail('invalid_field', `ack.ids must be 1-${LIMITS.maxAcksPerFrame} entry IDs`);
    }
    return { ok: true, frame: { t: 'ack', ids: ids as string[] } };
  }
  if (typeof h.id !== 'string' || !ENTRY_ID_PATTERN.test(h.id))
    return fail('invalid_field', 'ack.id must be an entry ID');
  return { ok: true, frame: { t: 'ack', id: h.id } };
}

function validateKeysRequest(h: Record<string, unknown>): Decoded<KeysRequestFrame> {
  const ref = isSafeInt(h.rid, 0, 2 ** 31) ? String(h.rid) : undefined;
  const extra = onlyFields(h, ['t', 'rid', 'ids']);
  if (extra) return fail('invalid_field', `keys has an unknown field "${extra.slice(0, 32)}"`, ref);
  if (ref === undefined) return fail('invalid_field', 'keys.rid must be an integer from 0 to 2^31');
  const ids = h.ids;
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > LIMITS.maxKeysPerRequest ||
    !ids.every(isUserId)
  ) {
    return fail('invalid_field', `keys.ids must be 1-${LIMITS.maxKeysPerRequest} user IDs`, ref);
  }
  return { ok: true, frame: { t: 'keys', rid: Number(ref), ids } };
}
