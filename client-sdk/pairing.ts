import type { AbortSignalLike } from './abort.js';
import { cancelled, onAbort } from './abort.js';
import { createClient, type PassbyClient } from './client.js';
import { Connection } from './connection.js';
import { loadOrCreateDeviceKey } from './device-key.js';
import { ClientError } from './errors.js';
import type { Identity } from './identity.js';
import { type ClientOptions, resolveOptions } from './options.js';
import { ready } from './sodium.js';
import { IDENTITY_KEY } from './storage.js';

/** How long a new device waits for another device's approval by default: the relay's pairing ttl. */
export const PAIRING_TIMEOUT_MS = 600_000;

/** The client's options without the identity (the pairing brings it), and how long to wait. */
export interface PairingOptions extends Omit<ClientOptions, 'identity'> {
  /** Gives up waiting for the approval after this many ms. Default 10 minutes. */
  timeoutMs?: number;
  /** Gives up waiting when it fires (ClientError `cancelled`). */
  signal?: AbortSignalLike;
}

/** A new device waiting to be approved by another device of the identity (protocol v4). */
export interface Pairing {
  /** What the approving device reads: `passby-pair:1:<device key>` (show it as a QR code or text). */
  readonly payload: string;
  /** This device's ID, as the approving device's `devices()` will list it. */
  readonly deviceId: string;
  /**
   * Resolves, once another device approved this one and the relay handed over the identity, with
   * a client of that identity (the identity is kept in the storage under `identity`, where
   * loadOrCreateIdentity finds it next time). Rejects with ClientError `pairing_failed` (the box
   * did not open, or held another identity than the relay welcomed), `timeout`, `cancelled`,
   * `not_supported` (a relay older than version 4), or the error that ended the connection.
   */
  readonly client: Promise<PassbyClient>;
  /** Stops waiting (`client` rejects with `cancelled`). */
  cancel(): void;
}

/**
 * Starts pairing this device with an identity another device holds: makes (or, after a restart,
 * loads) the device key, returns the payload to show at once, and connects. While the relay does
 * not know the device key yet (`unknown_device`) it tries again with the usual backoff, until the
 * other device approved it (client.approveDevice(payload)), `timeoutMs` passed or `signal` fired.
 */
export async function pairDevice(options: PairingOptions): Promise<Pairing> {
  const { timeoutMs = PAIRING_TIMEOUT_MS, signal, ...clientOptions } = options ?? ({} as PairingOptions);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    throw new TypeError('timeoutMs must be a positive whole number of milliseconds');
  const o = resolveOptions(clientOptions as ClientOptions, true);
  await ready();
  if ((await o.storage.get(IDENTITY_KEY)) !== undefined)
    throw new TypeError(
      'this storage already holds an identity: load it (loadOrCreateIdentity) instead of pairing',
    );
  const device = await loadOrCreateDeviceKey(o.storage);

  let done = false;
  let resolve!: (identity: Identity) => void;
  let reject!: (error: Error) => void;
  const paired = new Promise<Identity>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let recovered: Identity | undefined;
  const conn = new Connection(
    o,
    {
      state: (_, to) => {
        if (done) return;
        if (to.kind === 'open' && recovered) {
          done = true;
          resolve(recovered);
        } else if (to.kind === 'closed') {
          done = true;
          reject(to.error ?? new ClientError('closed'));
        }
      },
      welcome: (frame) => {
        if (frame.box === undefined) {
          const why = 'the relay welcomed this device without a pairing box (it is linked already)';
          return new ClientError('pairing_failed', why);
        }
        let identity: Identity;
        try {
          identity = device.openBox(frame.box);
        } catch (err) {
          return err instanceof ClientError
            ? err
            : new ClientError('pairing_failed', undefined, { cause: err });
        }
        if (identity.id !== frame.id) {
          const why = `the pairing box holds identity ${identity.id}, the relay welcomed ${frame.id}`;
          return new ClientError('pairing_failed', why);
        }
        recovered = identity;
        return undefined;
      },
      // Nothing is handled on the pairing connection: what the relay delivers waits for the client.
      frame: () => undefined,
      problem: () => undefined,
    },
    { identity: () => undefined, device: async () => device },
  );
  const stop = (error: ClientError) => {
    if (done) return;
    done = true;
    reject(error);
    conn.dispatch({ type: 'close' });
  };
  const stopAbort = onAbort(signal, 'the pairing', () => stop(cancelled('the pairing')));
  const timer = o.clock.setTimeout(() => {
    stop(new ClientError('timeout', `no other device approved this one within ${timeoutMs} ms`));
  }, timeoutMs);

  const client = paired
    .then(async (identity) => {
      conn.dispatch({ type: 'close' }); // the client connects on its own, as this device
      await o.storage.set(IDENTITY_KEY, identity.export());
      return createClient({ ...clientOptions, storage: o.storage, identity });
    })
    .finally(() => {
      o.clock.clearTimeout(timer);
      stopAbort();
    });
  conn.dispatch({ type: 'connect' });
  return {
    payload: device.pairingPayload,
    deviceId: device.id,
    client,
    cancel: () => stop(cancelled('the pairing')),
  };
}
