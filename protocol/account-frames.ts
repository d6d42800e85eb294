import { type Decoded, fail, isSafeInt, isUserId, noBody, onlyFields } from './fields.js';
import { domainInput } from './identity.js';
import { ENTRY_ID_PATTERN, MESSAGE_ID_PATTERN } from './limits.js';

/*
 * Version 4: devices, export and erase (PROTOCOL.md, "Version 4"). An identity (user ID and
 * identity key) has up to `welcome.limits.maxDevices` devices, each with its own Ed25519 device
 * key, certified by the identity key; every device holds the identity secret (it reaches a new
 * device sealed to its device key when another device approves it). A device authenticates with
 * its device key; the relay tracks delivery per device.
 */

/** A device ID is BLAKE2b-128 of DEVICE_ID_DOMAIN || the device public key, like a user ID. */
export const DEVICE_ID_DOMAIN = 'passby-device-v1';
/** What a device signs to authenticate (version 4): not the v1 domain, so neither answer passes for the other. */
export const DEVICE_AUTH_DOMAIN = 'passby-auth-v4';
/** What the identity key signs to certify a device key. */
export const DEVICE_CERT_DOMAIN = 'passby-device-cert-v1';
/** What the identity key signs to ask for an export or an erase. */
export const EXPORT_DOMAIN = 'passby-export-v1';
export const ERASE_DOMAIN = 'passby-erase-v1';
/** The pairing box (the identity secret sealed to the new device key), in base64url characters. */
export const MAX_BOX_CHARS = 512;

/** A device ID: as a user ID, 16 bytes in canonical base64url. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{21}[AQgw]$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** A pairing box as it travels: 1-MAX_BOX_CHARS characters of base64url. */
export const BOX_PATTERN = /^[A-Za-z0-9_-]{1,512}$/;

const encoder = new TextEncoder();

/** The bytes to hash into a device ID. */
export function deviceIdInput(devicePublicKey: Uint8Array): Uint8Array {
  return domainInput(DEVICE_ID_DOMAIN, devicePublicKey);
}

/** What a device signs with its device key to answer a version 4 challenge. */
export function deviceAuthMessage(relay: string, nonce: string, ts: number, deviceKey: string): Uint8Array {
  return encoder.encode(`${DEVICE_AUTH_DOMAIN}\n${relay}\n${nonce}\n${ts}\n${deviceKey}`);
}

/** What the identity key signs to certify device key `deviceKey` (base64url). */
export function deviceCertMessage(userId: string, deviceKey: string): Uint8Array {
  return encoder.encode(`${DEVICE_CERT_DOMAIN}\n${userId}\n${deviceKey}`);
}

/**
 * What the identity key signs to ask for an export or an erase: bound to this connection's nonce
 * (so it cannot be replayed on another connection) and to a fresh timestamp.
 */
export function accountRequestMessage(
  kind: 'export' | 'erase',
  relay: string,
  nonce: string,
  ts: number,
  userId: string,
): Uint8Array {
  const domain = kind === 'export' ? EXPORT_DOMAIN : ERASE_DOMAIN;
  return encoder.encode(`${domain}\n${relay}\n${nonce}\n${ts}\n${userId}`);
}

/** Version 4 `auth`: by a device key; `pk` and `cert` only when registering an identity's first device. */
export interface DeviceAuthFrame {
  t: 'auth';
  dk: string;
  ts: number;
  sig: string;
  pk?: string;
  cert?: string;
}

export type DeviceFrame =
  | { t: 'device'; rid: number; op: 'approve'; dk: string; cert: string; box: string }
  | { t: 'device'; rid: number; op: 'revoke'; id: string }
  | { t: 'device'; rid: number; op: 'received' };

export interface DevicesRequestFrame {
  t: 'devices';
  rid: number;
}

/** `export` and `erase`: signed by the identity key (accountRequestMessage). */
export type AccountRequestFrame = ExportRequestFrame | EraseRequestFrame;

export interface ExportRequestFrame {
  t: 'export';
  rid: number;
  ts: number;
  sig: string;
}

export interface EraseRequestFrame {
  t: 'erase';
  rid: number;
  ts: number;
  sig: string;
}

export type AccountClientFrame = DeviceFrame | DevicesRequestFrame | AccountRequestFrame;

export interface DeviceInfo {
  id: string;
  created: number;
  /** 0 while an approved device has not connected yet. */
  seen: number;
  /** Approved, has not connected yet. */
  pending: boolean;
  /** The device this connection is. */
  current: boolean;
}

export interface DevicesReplyFrame {
  t: 'devices';
  rid: number;
  devices: DeviceInfo[];
}

/** The answer to `export`: the body is the UTF-8 JSON of everything the relay holds about the user. */
export interface ExportReplyFrame {
  t: 'export';
  rid: number;
  body: Uint8Array;
}

/** A copy of what another device of the same identity sent: entry `c:<to>:<mid>`. */
export interface SentFrame {
  t: 'sent';
  id: string;
  to: string;
  mid: string;
  ts: number;
  exp: number;
  body: Uint8Array;
}

export type AccountRelayFrame = DevicesReplyFrame | ExportReplyFrame | SentFrame;

const isKey = (v: unknown): v is string => typeof v === 'string' && v.length === 43 && BASE64URL.test(v);
const isSig = (v: unknown): v is string => typeof v === 'string' && v.length === 86 && BASE64URL.test(v);
const isRid = (v: unknown): v is number => isSafeInt(v, 0, 2 ** 31);
const isTs = (v: unknown): v is number => isSafeInt(v, 0, Number.MAX_SAFE_INTEGER);

/** The version 4 form of `auth` (it has `dk`). */
export function validateDeviceAuth(h: Record<string, unknown>): Decoded<DeviceAuthFrame> {
  const extra = onlyFields(h, ['t', 'dk', 'ts', 'sig', 'pk', 'cert']);
  if (extra) return fail('invalid_field', `auth has an unknown field "${extra.slice(0, 32)}"`);
  if (!isKey(h.dk)) return fail('invalid_field', 'auth.dk must be 32 bytes in base64url');
  if (!isSig(h.sig)) return fail('invalid_field', 'auth.sig must be 64 bytes in base64url');
  if (!isTs(h.ts)) return fail('invalid_field', 'auth.ts must be milliseconds since the epoch');
  if ((h.pk === undefined) !== (h.cert === undefined))
    return fail('invalid_field', 'auth.pk and auth.cert come together (a first device)');
  const frame: DeviceAuthFrame = { t: 'auth', dk: h.dk, ts: h.ts, sig: h.sig };
  if (h.pk !== undefined) {
    if (!isKey(h.pk)) return fail('invalid_field', 'auth.pk must be 32 bytes in base64url');
    if (!isSig(h.cert)) return fail('invalid_field', 'auth.cert must be 64 bytes in base64url');
    frame.pk = h.pk;
    frame.cert = h.cert;
  }
  return { ok: true, frame };
}

/** Version 4 client frames, or undefined when `t` is none of them. */
export function validateAccountFrame(h: Record<string, unknown>): Decoded<AccountClientFrame> | undefined {
  const ref = isRid(h.rid) ? String(h.rid) : undefined;
  const bad = (message: string) => fail('invalid_field', message, ref);
  switch (h.t) {
    case 'device': {
      if (!isRid(h.rid)) return bad('device.rid must be an integer from 0 to 2^31');
      const rid = h.rid;
      if (h.op === 'approve') {
        const extra = onlyFields(h, ['t', 'rid', 'op', 'dk', 'cert', 'box']);
        if (extra) return bad(`device has an unknown field "${extra.slice(0, 32)}"`);
        if (!isKey(h.dk)) return bad('device.dk must be 32 bytes in base64url');
        if (!isSig(h.cert)) return bad('device.cert must be 64 bytes in base64url');
        if (
          typeof h.box !== 'string' ||
          h.box.length === 0 ||
          h.box.length > MAX_BOX_CHARS ||
          !BASE64URL.test(h.box)
        )
          return bad(`device.box must be 1-${MAX_BOX_CHARS} characters of base64url`);
        return { ok: true, frame: { t: 'device', rid, op: 'approve', dk: h.dk, cert: h.cert, box: h.box } };
      }
      if (h.op === 'revoke') {
        const extra = onlyFields(h, ['t', 'rid', 'op', 'id']);
        if (extra) return bad(`device has an unknown field "${extra.slice(0, 32)}"`);
        if (typeof h.id !== 'string' || !DEVICE_ID_PATTERN.test(h.id))
          return bad('device.id must be a device ID');
        return { ok: true, frame: { t: 'device', rid, op: 'revoke', id: h.id } };
      }
      if (h.op === 'received') {
        const extra = onlyFields(h, ['t', 'rid', 'op']);
        if (extra) return bad(`device has an unknown field "${extra.slice(0, 32)}"`);
        return { ok: true, frame: { t: 'device', rid, op: 'received' } };
      }
      return bad('device.op must be "approve", "revoke" or "received"');
    }
    case 'devices': {
      const extra = onlyFields(h, ['t', 'rid']);
      if (extra) return bad(`devices has an unknown field "${extra.slice(0, 32)}"`);
      if (!isRid(h.rid)) return bad('devices.rid must be an integer from 0 to 2^31');
      return { ok: true, frame: { t: 'devices', rid: h.rid } };
    }
    case 'export':
    case 'erase': {
      const extra = onlyFields(h, ['t', 'rid', 'ts', 'sig']);
      if (extra) return bad(`${h.t} has an unknown field "${extra.slice(0, 32)}"`);
      if (!isRid(h.rid)) return bad(`${h.t}.rid must be an integer from 0 to 2^31`);
      if (!isTs(h.ts)) return bad(`${h.t}.ts must be milliseconds since the epoch`);
      if (!isSig(h.sig)) return bad(`${h.t}.sig must be 64 bytes in base64url`);
      return { ok: true, frame: { t: h.t, rid: h.rid, ts: h.ts, sig: h.sig } };
    }
    default:
      return undefined;
  }
}

const MAX_TIME = 8.64e15;
const isTime = (v: unknown): v is number => isSafeInt(v, 0, MAX_TIME);

function readDevices(value: unknown): DeviceInfo[] | undefined {
  if (!Array.isArray(value) || value.length > 64) return undefined;
  const out: DeviceInfo[] = [];
  for (const item of value) {
    if (typeof item !== 'object' || item === null) return undefined;
    const d = item as Record<string, unknown>;
    if (typeof d.id !== 'string' || !DEVICE_ID_PATTERN.test(d.id) || !isTime(d.created) || !isTime(d.seen))
      return undefined;
    if (typeof d.pending !== 'boolean' || typeof d.current !== 'boolean') return undefined;
    out.push({ id: d.id, created: d.created, seen: d.seen, pending: d.pending, current: d.current });
  }
  return out;
}

/** Version 4 relay frames (for clients), or undefined when `t` is none of them. */
export function validateAccountRelayFrame(
  h: Record<string, unknown>,
  body: Uint8Array,
): Decoded<AccountRelayFrame> | undefined {
  const bad = (what: string) => fail('invalid_field', `relay frame "${String(h.t)}": ${what}`);
  switch (h.t) {
    case 'devices': {
      if (!isRid(h.rid)) return bad('rid');
      const devices = readDevices(h.devices);
      if (devices === undefined) return bad('devices');
      return noBody(body, { ok: true, frame: { t: 'devices', rid: h.rid, devices } });
    }
    case 'export':
      if (!isRid(h.rid)) return bad('rid');
      if (body.length === 0) return bad('body (the export) is empty');
      return { ok: true, frame: { t: 'export', rid: h.rid, body } };
    case 'sent':
      if (typeof h.id !== 'string' || !ENTRY_ID_PATTERN.test(h.id) || !h.id.startsWith('c:'))
        return bad('id');
      if (!isUserId(h.to)) return bad('to');
      if (typeof h.mid !== 'string' || !MESSAGE_ID_PATTERN.test(h.mid)) return bad('mid');
      if (!isTime(h.ts) || !isTime(h.exp)) return bad('ts or exp');
      if (body.length === 0 || body.length > 64 * 1024) return bad('body size');
      return { ok: true, frame: { t: 'sent', id: h.id, to: h.to, mid: h.mid, ts: h.ts, exp: h.exp, body } };
    default:
      return undefined;
  }
}
