import sodium from 'libsodium-wrappers';
import {
  type AccountClientFrame,
  type AccountRequestFrame,
  accountRequestMessage,
  type DeviceFrame,
  type DeviceInfo,
  deviceCertMessage,
  deviceIdInput,
  type ErrorCode,
  fromBase64url,
  type RelayFrame,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
} from '../../protocol/index.js';
import type { RelayConfig } from '../config/index.js';
import type { Identities } from '../mailbox/index.js';
import type { Logger } from '../telemetry/index.js';
import type { Accounts, Devices, MailboxPart, PushPart } from './contract.js';

/** The frame types AccountHandlers.handle takes (protocol version 4). */
export const ACCOUNT_FRAME_TYPES: ReadonlySet<string> = new Set(['device', 'devices', 'export', 'erase']);

/** What an account change must tell every relay node's connections of the user (relay/connection Hub). */
export interface AccountSignals {
  revoked(uid: string, slot: number): Promise<void>;
  erased(uid: string): Promise<void>;
  devicesChanged(uid: string): Promise<void>;
}

export interface AccountDeps {
  config: Readonly<RelayConfig>;
  identities: Identities;
  mailbox: Pick<MailboxPart, 'dropDevice'>;
  /** A revoked device's wake-up registration goes with it. */
  push?: Pick<PushPart, 'remove'>;
  devices: Devices;
  accounts: Accounts;
  signals: AccountSignals;
  /** Asks the erase worker to run soon (it also runs every sweep). */
  eraseSoon(): void;
  now: () => number;
}

/** What a handler needs of the session it serves. */
export interface AccountHost {
  readonly uid: string;
  readonly slot: number;
  readonly device: string | undefined;
  /** The nonce of this connection's challenge: export and erase are signed over it. */
  readonly challengeNonce: string;
  readonly log: Logger;
  reply(frame: RelayFrame): void;
  reject(code: ErrorCode, message: string | undefined, ref: string): void;
}

const encoder = new TextEncoder();

/**
 * The version 4 requests about the account itself (PROTOCOL.md "Version 4"): approving, listing
 * and revoking devices, finishing a pairing, export and erase. Each answers `ok`, its reply, or an
 * error with `ref` = the rid.
 */
export class AccountHandlers {
  constructor(private readonly d: AccountDeps) {}

  async handle(host: AccountHost, frame: AccountClientFrame): Promise<void> {
    switch (frame.t) {
      case 'device':
        return this.device(host, frame);
      case 'devices':
        return this.list(host, frame.rid);
      case 'export':
      case 'erase':
        return this.account(host, frame);
    }
  }

  private async device(host: AccountHost, frame: DeviceFrame): Promise<void> {
    const rid = String(frame.rid);
    const { devices, signals, now } = this.d;
    if (frame.op === 'received') {
      await devices.received(host.uid, host.slot);
      return host.reply({ t: 'ok', rid: frame.rid });
    }
    if (frame.op === 'approve') {
      const [pk] = await this.d.identities.publicKeys([host.uid]);
      const key = pk ? fromBase64url(pk) : null;
      const cert = fromBase64url(frame.cert);
      if (key === null || cert === null || !verify(cert, deviceCertMessage(host.uid, frame.dk), key))
        return host.reject('invalid_signature', 'device.cert does not verify for your identity key', rid);
      const dk = fromBase64url(frame.dk);
      if (dk === null) return host.reject('invalid_field', 'device.dk is not base64url', rid);
      const result = await devices.approve(
        host.uid,
        deviceIdOf(dk),
        frame.box,
        now(),
        this.d.config.maxDevices,
      );
      if (result.status === 'full') return host.reject('too_many_devices', undefined, rid);
      if (result.status === 'taken') return host.reject('device_taken', undefined, rid);
      if (result.status === 'ok') await signals.devicesChanged(host.uid);
      host.log.info({ slot: result.status === 'ok' ? result.slot : undefined }, 'device approved');
      return host.reply({ t: 'ok', rid: frame.rid });
    }
    const result = await devices.revoke(host.uid, frame.id, now());
    if (result.status === 'unknown') return host.reject('no_device', undefined, rid);
    if (result.status !== 'ok') return host.reject('last_device', undefined, rid);
    await this.d.mailbox.dropDevice(host.uid, result.slot, now());
    await this.d.push?.remove(host.uid, result.slot);
    host.log.info({ slot: result.slot }, 'device revoked');
    host.reply({ t: 'ok', rid: frame.rid });
    await signals.devicesChanged(host.uid);
    await signals.revoked(host.uid, result.slot);
  }

  private async list(host: AccountHost, rid: number): Promise<void> {
    const records = await this.d.devices.list(host.uid);
    const devices: DeviceInfo[] = records.map((r) => ({
      id: r.id,
      created: r.created,
      seen: r.seen,
      pending: r.pending,
      current: r.id === host.device,
    }));
    host.reply({ t: 'devices', rid, devices });
  }

  private async account(host: AccountHost, frame: AccountRequestFrame): Promise<void> {
    const rid = String(frame.rid);
    const { identities, accounts, config, now } = this.d;
    const at = now();
    const [pk] = await identities.publicKeys([host.uid]);
    const key = pk ? fromBase64url(pk) : null;
    const sig = fromBase64url(frame.sig);
    const message = accountRequestMessage(frame.t, config.relayId, host.challengeNonce, frame.ts, host.uid);
    if (Math.abs(at - frame.ts) > config.authSkewMs)
      return host.reject('invalid_signature', `${frame.t}.ts is too far from the relay clock`, rid);
    if (key === null || sig === null || !verify(sig, message, key))
      return host.reject('invalid_signature', `${frame.t}.sig does not verify for your identity key`, rid);
    if (frame.t === 'export') {
      const data = await accounts.exportOf(host.uid, at);
      host.log.info('account exported');
      return host.reply({ t: 'export', rid: frame.rid, body: encoder.encode(JSON.stringify(data)) });
    }
    await accounts.requestErase(host.uid, at);
    host.log.info('account erase requested');
    host.reply({ t: 'ok', rid: frame.rid });
    await this.d.signals.erased(host.uid);
    this.d.eraseSoon();
  }
}

/** A device's ID: BLAKE2b-128 of the device domain and key (PROTOCOL.md "Devices"). */
export function deviceIdOf(deviceKey: Uint8Array): string {
  return userIdFromDigest(sodium.crypto_generichash(USER_ID_HASH_BYTES, deviceIdInput(deviceKey), null));
}

/** A detached Ed25519 signature check; a key libsodium refuses outright is a failed check. */
export function verify(sig: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  try {
    return sodium.crypto_sign_verify_detached(sig, message, key);
  } catch {
    return false;
  }
}
