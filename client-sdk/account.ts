import {
  type AccountExport,
  accountRequestMessage,
  DEVICE_ID_PATTERN,
  type DeviceInfo,
  deviceCertMessage,
  PassbyError,
  toBase64url,
} from '../protocol/index.js';
import type { Challenge } from './connection.js';
import { parsePairingPayload, sealIdentity } from './device-key.js';
import { ClientError } from './errors.js';
import type { Identity } from './identity.js';
import type { Clock } from './options.js';
import type { Requests, SocialRequest } from './requests.js';

/** Everything the relay holds about the account (PROTOCOL.md, "Export and erase"), as it sent it. */
export type { AccountExport };

export interface AccountDeps {
  identity: Identity;
  requests: Requests;
  clock: Clock;
  /** The open connection's challenge (export and erase sign its relay and nonce). */
  challenge(): Challenge | undefined;
  /** The protocol version of the current connection. */
  version(): number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Protocol version 4, the identity's side: approving a new device, listing and revoking devices,
 * and the two requests signed by the identity key, export and erase. Each resolves once the relay
 * answered and rejects with the relay's PassbyError (`too_many_devices`, `device_taken`,
 * `invalid_signature`, `no_device`, `last_device` ...) or a ClientError (`not_supported` against
 * an older relay, `timeout`, `disconnected`, `closed`).
 */
export class Account {
  constructor(private readonly d: AccountDeps) {}

  /** Approves the device that shows `payload` (`passby-pair:1:<dk>`); resolves with its device ID. */
  async approveDevice(payload: string): Promise<{ id: string }> {
    const device = parsePairingPayload(payload);
    const { identity } = this.d;
    const cert = toBase64url(identity.sign(deviceCertMessage(identity.id, device.dk)));
    const box = sealIdentity(identity, device.boxKey);
    const request = { t: 'device', op: 'approve', dk: device.dk, cert, box } as const;
    await this.d.requests.request(request, () => this.#v4(request));
    return { id: device.id };
  }

  /** The identity's devices: ID, created, last seen, pending, and which one this is. */
  async devices(): Promise<DeviceInfo[]> {
    const request = { t: 'devices' } as const;
    const reply = await this.d.requests.request(request, () => this.#v4(request));
    return reply.devices;
  }

  /** Revokes a device of this identity: the relay closes it with `device_revoked` for good. */
  async revokeDevice(id: string): Promise<void> {
    if (typeof id !== 'string' || !DEVICE_ID_PATTERN.test(id)) throw new TypeError('not a device ID');
    const request = { t: 'device', op: 'revoke', id } as const;
    await this.d.requests.request(request, () => this.#v4(request));
  }

  /** Everything the relay keeps about this account, as the parsed JSON of its `export` reply. */
  async exportAccount(): Promise<AccountExport> {
    const reply = await this.d.requests.request({ t: 'export', ts: 0, sig: '' }, () =>
      this.#signed('export'),
    );
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(reply.body));
    } catch (err) {
      throw new ClientError('protocol', 'the export is not UTF-8 JSON', { cause: err });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new ClientError('protocol', 'the export is not a JSON object');
    const data = parsed as AccountExport;
    if (data.user !== this.d.identity.id) throw new ClientError('protocol', 'the export is of another user');
    return data;
  }

  /**
   * Asks the relay to erase the account; resolves once it confirmed (its `ok`, or the `erased`
   * close that follows it, if that came first). The client then wipes its own store.
   */
  async erase(): Promise<void> {
    try {
      await this.d.requests.request({ t: 'erase', ts: 0, sig: '' }, () => this.#signed('erase'));
    } catch (err) {
      if (!(err instanceof PassbyError && err.code === 'erased')) throw err;
    }
  }

  /** The request as it leaves, signed by the identity key over this connection's nonce. */
  #signed<K extends 'export' | 'erase'>(kind: K): { t: K; ts: number; sig: string } {
    this.#v4({ t: kind });
    const challenge = this.d.challenge();
    if (challenge === undefined)
      throw new ClientError('disconnected', `no open connection to sign "${kind}" for`);
    const { identity } = this.d;
    const ts = Math.floor(this.d.clock.now());
    const message = accountRequestMessage(kind, challenge.relay, challenge.nonce, ts, identity.id);
    return { t: kind, ts, sig: toBase64url(identity.sign(message)) };
  }

  #v4<R extends Pick<SocialRequest, 't'>>(request: R): R {
    const version = this.d.version();
    if (version < 4) {
      const why = `"${request.t}" needs protocol version 4; the relay speaks v${version}`;
      throw new ClientError('not_supported', why);
    }
    return request;
  }
}
