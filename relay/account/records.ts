import type { DeviceRecord } from './contract.js';

/*
 * The device registry's stored format (the layout in redis.ts), read by both stores and parsed
 * the same way by lua/account.lua.
 */

/** A registry hash as read (HGETALL), parsed: the fields of the layout in redis.ts. */
export interface RegistryState {
  mask: number;
  devices: DeviceRecord[];
  revoked: { id: string; at: number }[];
  seen: number | null;
  erased: number | null;
}

/** `s<slot>` -> `<did>:<created ms>:<seen ms>:<state>`, state `l` (linked) or `p` (pending). */
export function parseRecord(slot: number, value: string): DeviceRecord | null {
  const m = /^([^:]+):(\d+):(\d+):([lp])$/.exec(value);
  if (m === null) return null;
  return { id: m[1]!, slot, created: Number(m[2]), seen: Number(m[3]), pending: m[4] === 'p' };
}

export function parseRegistry(hash: Record<string, string>): RegistryState {
  const devices: DeviceRecord[] = [];
  const revoked: { id: string; at: number }[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (/^s\d+$/.test(field)) {
      const record = parseRecord(Number(field.slice(1)), value);
      if (record !== null) devices.push(record);
    } else if (field.startsWith('r')) revoked.push({ id: field.slice(1), at: Number(value) });
  }
  devices.sort((a, b) => a.slot - b.slot);
  revoked.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
  const number = (v: string | undefined) => (v === undefined ? null : Number(v));
  return { mask: Number(hash.m ?? 0), devices, revoked, seen: number(hash.seen), erased: number(hash.x) };
}

export function liveCountOf(mask: number): number {
  let n = 0;
  for (let m = mask; m > 0; m >>>= 1) n += m & 1;
  return n;
}
