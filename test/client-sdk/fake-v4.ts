import sodium from 'libsodium-wrappers';
import type { Clock } from '../../client-sdk/index.js';
import type { DeviceAuthFrame, RelayLimits } from '../../protocol/index.js';
import type { FakeSocket } from './fake-socket.js';

/** The nonce every hand-played v4 challenge carries. */
export const NONCE = 'n'.repeat(43);
export const LIMITS_V4: RelayLimits = {
  maxBodyBytes: 65536,
  maxTtlSeconds: 2592000,
  mailboxMaxMessages: 10000,
  mailboxMaxBytes: 1 << 26,
  sendsPerSecond: 200,
  maxDevices: 5,
};

/**
 * Plays a version 4 relay's side of the handshake on `socket` up to the client's `auth`, which it
 * returns; `welcome` (when given) is then sent as the relay's answer.
 */
export async function handshakeV4(
  socket: FakeSocket,
  welcome?: { id: string; device?: string; box?: string },
  relay = 'passby',
): Promise<DeviceAuthFrame> {
  socket.accept();
  const answer = socket.next('auth');
  socket.receive({ t: 'challenge', v: 4, nonce: NONCE, relay, time: 1_700_000_000_000 });
  const auth = (await answer) as DeviceAuthFrame;
  if (welcome) socket.receive({ t: 'welcome', ...welcome, limits: LIMITS_V4 });
  return auth;
}

/** The device ID of a device key (base64url), computed here from PROTOCOL.md, not by the SDK. */
export function deviceIdFor(dk: Uint8Array): string {
  const input = new Uint8Array([...new TextEncoder().encode('passby-device-v1'), ...dk]);
  return sodium.to_base64(
    sodium.crypto_generichash(16, input, null),
    sodium.base64_variants.URLSAFE_NO_PADDING,
  );
}

/** A clock that moves only when told to, firing the timers that fall due. */
export class ManualClock implements Clock {
  #now: number;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.#now += ms;
    for (const [id, t] of [...this.#timers]) {
      if (t.at <= this.#now) {
        this.#timers.delete(id);
        t.fn();
      }
    }
  }
  get pending(): number {
    return this.#timers.size;
  }
}
