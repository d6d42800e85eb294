import { BOX_PATTERN, DEVICE_ID_PATTERN, validateAccountRelayFrame } from './account-frames.js';
import { isErrorCode } from './errors.js';
import { type Decoded, fail, isSafeInt, isUserId, noBody } from './fields.js';
import type { RelayFrame, RelayLimits, StoredItem, WelcomeFrame } from './frames.js';
import { ENTRY_ID_PATTERN, LIMITS, MESSAGE_ID_PATTERN } from './limits.js';
import { validateSocialRelayFrame } from './social-frames.js';

/*
 * Validation of what the relay sends, for clients. A client treats the relay as untrusted for
 * content (it cannot read payloads anyway) but still refuses frames of the wrong shape, so an
 * app never sees a half-formed event. Unknown header fields are ignored: a relay may add
 * informational fields within a protocol version.
 */

const MAX_TIME = 8.64e15;

function isTime(value: unknown): value is number {
  return isSafeInt(value, 0, MAX_TIME);
}

function isMid(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID_PATTERN.test(value);
}

function isEntryId(value: unknown): value is string {
  return typeof value === 'string' && ENTRY_ID_PATTERN.test(value);
}

/** The optional numbers of `limits`, added after version 3 first shipped (older relays omit them). */
const OPTIONAL_LIMITS = [
  'proximityWindowMs',
  'presenceIntervalMs',
  'heldPartsTtlSeconds',
  'maxDevices',
] as const;

/**
 * The relay's limits as a fresh object of the five numbers and the optional fields the relay
 * sent, or undefined; what else the relay's object holds is not handed on (an own "__proto__"
 * key, say). An optional field of the wrong type refuses the frame like a required one.
 */
function readLimits(value: unknown): RelayLimits | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const l = value as Record<string, unknown>;
  const n = (v: unknown) => isSafeInt(v, 0, Number.MAX_SAFE_INTEGER);
  if (!n(l.maxBodyBytes) || !n(l.maxTtlSeconds) || !n(l.mailboxMaxMessages)) return undefined;
  if (!n(l.mailboxMaxBytes) || !n(l.sendsPerSecond)) return undefined;
  const limits: RelayLimits = {
    maxBodyBytes: l.maxBodyBytes as number,
    maxTtlSeconds: l.maxTtlSeconds as number,
    mailboxMaxMessages: l.mailboxMaxMessages as number,
    mailboxMaxBytes: l.mailboxMaxBytes as number,
    sendsPerSecond: l.sendsPerSecond as number,
  };
  for (const k of OPTIONAL_LIMITS) {
    if (!Object.hasOwn(l, k)) continue;
    if (!n(l[k])) return undefined;
    limits[k] = l[k] as number;
  }
  if (Object.hasOwn(l, 'strangerShares')) {
    if (typeof l.strangerShares !== 'boolean') return undefined;
    limits.strangerShares = l.strangerShares;
  }
  return limits;
}

export function validateRelayFrame(h: Record<string, unknown>, body: Uint8Array): Decoded<RelayFrame> {
  const bad = (what: string) => fail('invalid_field', `relay frame "${String(h.t)}": ${what}`);
  switch (h.t) {
    case 'challenge':
      if (!isSafeInt(h.v, 1, 65535)) return bad('v');
      if (typeof h.nonce !== 'string' || h.nonce.length !== 43) return bad('nonce');
      if (typeof h.relay !== 'string' || h.relay.length === 0 || h.relay.length > 256) return bad('relay');
      if (!isTime(h.time)) return bad('time');
      return noBody(body, {
        ok: true,
        frame: { t: 'challenge', v: h.v, nonce: h.nonce, relay: h.relay, time: h.time },
      });
    case 'welcome': {
      if (!isUserId(h.id)) return bad('id');
      const limits = readLimits(h.limits);
      if (limits === undefined) return bad('limits');
      const welcome: WelcomeFrame = { t: 'welcome', id: h.id, limits };
      if (h.device !== undefined) {
        if (typeof h.device !== 'string' || !DEVICE_ID_PATTERN.test(h.device)) return bad('device');
        welcome.device = h.device;
      }
      if (h.box !== undefined) {
        if (typeof h.box !== 'string' || !BOX_PATTERN.test(h.box)) return bad('box');
        welcome.box = h.box;
      }
      return noBody(body, { ok: true, frame: welcome });
    }
    case 'stored':
      if (h.items !== undefined) {
        // Version 3: every confirmation the relay had for this connection at once.
        const items = h.items;
        if (!Array.isArray(items) || items.length === 0 || items.length > LIMITS.maxStoredPerFrame)
          return bad('items');
        const out: StoredItem[] = [];
        for (const item of items) {
          if (typeof item !== 'object' || item === null) return bad('items');
          const i = item as Record<string, unknown>;
          if (!isUserId(i.to) || !isMid(i.mid) || !isTime(i.exp) || typeof i.dup !== 'boolean')
            return bad('items');
          out.push({ to: i.to, mid: i.mid, exp: i.exp, dup: i.dup });
        }
        return noBody(body, { ok: true, frame: { t: 'stored', items: out } });
      }
      if (!isUserId(h.to)) return bad('to');
      if (!isMid(h.mid)) return bad('mid');
      if (!isTime(h.exp)) return bad('exp');
      if (typeof h.dup !== 'boolean') return bad('dup');
      return noBody(body, { ok: true, frame: { t: 'stored', to: h.to, mid: h.mid, exp: h.exp, dup: h.dup } });
    case 'msg':
      if (!isEntryId(h.id)) return bad('id');
      if (!isUserId(h.from)) return bad('from');
      if (!isMid(h.mid)) return bad('mid');
      if (!isTime(h.ts)) return bad('ts');
      if (!isTime(h.exp)) return bad('exp');
      if (body.length === 0 || body.length > LIMITS.maxBodyBytes) return bad('body size');
      return {
        ok: true,
        frame: { t: 'msg', id: h.id, from: h.from, mid: h.mid, ts: h.ts, exp: h.exp, body },
      };
    case 'receipt':
      if (!isEntryId(h.id)) return bad('id');
      if (!isUserId(h.to)) return bad('to');
      if (!isMid(h.mid)) return bad('mid');
      if (h.status !== 'delivered' && h.status !== 'expired' && h.status !== 'rejected') return bad('status');
      if (!isTime(h.at)) return bad('at');
      return noBody(body, {
        ok: true,
        frame: { t: 'receipt', id: h.id, to: h.to, mid: h.mid, status: h.status, at: h.at },
      });
    case 'drained':
      return noBody(body, { ok: true, frame: { t: 'drained' } });
    case 'keys': {
      if (!isSafeInt(h.rid, 0, 2 ** 31)) return bad('rid');
      const keys = h.keys;
      if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) return bad('keys');
      // Null prototype: a client looks its requested IDs up in it.
      const out: Record<string, string | null> = Object.create(null);
      for (const [id, pk] of Object.entries(keys)) {
        if (!isUserId(id) || (pk !== null && (typeof pk !== 'string' || pk.length !== 43)))
          return bad('keys');
        out[id] = pk;
      }
      return noBody(body, { ok: true, frame: { t: 'keys', rid: h.rid, keys: out } });
    }
    case 'error': {
      if (!isErrorCode(h.code)) return bad('code');
      if (typeof h.message !== 'string') return bad('message');
      if (typeof h.retry !== 'boolean') return bad('retry');
      if (h.ref !== undefined && typeof h.ref !== 'string') return bad('ref');
      const frame = { t: 'error' as const, code: h.code, message: h.message, retry: h.retry };
      return noBody(body, { ok: true, frame: h.ref === undefined ? frame : { ...frame, ref: h.ref } });
    }
    default: {
      const account = validateAccountRelayFrame(h, body);
      if (account !== undefined) return account;
      const social = validateSocialRelayFrame(h);
      if (social?.ok && social.frame.t === 'offer') {
        if (body.length === 0 || body.length > LIMITS.maxBodyBytes) return bad('body size');
        return { ok: true, frame: { ...social.frame, body } };
      }
      if (social === undefined)
        return fail('unknown_type', `unknown relay frame type "${String(h.t).slice(0, 32)}"`);
      return noBody(body, social);
    }
  }
}
