import sodium from 'libsodium-wrappers';
import {
  accountRequestMessage,
  deviceAuthMessage,
  deviceCertMessage,
  deviceIdInput,
  fromBase64url,
  toBase64url,
  USER_ID_HASH_BYTES,
  userIdFromDigest,
} from '../../protocol/index.js';
import { type Identity, newIdentity, RawClient } from './raw-client.js';

/**
 * Protocol version 4 devices for the relay tests, in raw frames (PROTOCOL.md "Version 4"): a
 * device key, its ID, the identity's certificate of it, the pairing box, and the signed export and
 * erase requests.
 */
export interface Device {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
  dk: string;
  id: string;
}

export async function newDevice(): Promise<Device> {
  await sodium.ready;
  const { publicKey, privateKey } = sodium.crypto_sign_keypair();
  const id = userIdFromDigest(sodium.crypto_generichash(USER_ID_HASH_BYTES, deviceIdInput(publicKey), null));
  return { publicKey, privateKey, dk: toBase64url(publicKey), id };
}

export function certify(identity: Identity, device: Device): string {
  return toBase64url(
    sodium.crypto_sign_detached(deviceCertMessage(identity.id, device.dk), identity.privateKey),
  );
}

/** The identity's seed sealed to the device key (what an approving device puts in `box`). */
export function sealIdentity(identity: Identity, device: Device): string {
  const seed = identity.privateKey.subarray(0, 32);
  return toBase64url(
    sodium.crypto_box_seal(seed, sodium.crypto_sign_ed25519_pk_to_curve25519(device.publicKey)),
  );
}

/** Opens a box with the device key: the identity's seed. */
export function openBox(box: string, device: Device): Uint8Array {
  const pk = sodium.crypto_sign_ed25519_pk_to_curve25519(device.publicKey);
  const sk = sodium.crypto_sign_ed25519_sk_to_curve25519(device.privateKey);
  return sodium.crypto_box_seal_open(fromBase64url(box)!, pk, sk);
}

/** A version 4 connection of one device: the welcome, and the challenge it answered. */
export interface DeviceSession {
  client: RawClient;
  nonce: string;
  welcome: { id: string; device?: string; box?: string };
}

/**
 * Connects `device` with version 4; with `identity`, adds pk and cert (a first device registers
 * itself). Resolves on welcome; a relay that closes instead rejects with the close.
 */
export async function connectDevice(
  url: string,
  device: Device,
  identity?: Identity,
  relayId = 'passby',
): Promise<DeviceSession> {
  const client = await RawClient.connect(url);
  client.send({ t: 'hello', versions: [4, 3, 2, 1] });
  const challenge = await client.next('challenge');
  const ts = Date.now();
  const sig = sodium.crypto_sign_detached(
    deviceAuthMessage(relayId, challenge.nonce, ts, device.dk),
    device.privateKey,
  );
  const auth = identity
    ? {
        t: 'auth' as const,
        dk: device.dk,
        ts,
        sig: toBase64url(sig),
        pk: identity.pk,
        cert: certify(identity, device),
      }
    : { t: 'auth' as const, dk: device.dk, ts, sig: toBase64url(sig) };
  client.send(auth);
  const welcome = await client.next('welcome');
  return { client, nonce: challenge.nonce, welcome };
}

/** Connects and expects the relay to refuse: the close it gave. */
export async function refusedDevice(url: string, device: Device, identity?: Identity) {
  try {
    const session = await connectDevice(url, device, identity);
    await session.client.close();
    throw new Error('the relay let the device in');
  } catch (err) {
    const m = /closed \((\d+) ([a-z_]+)\)/.exec(String(err));
    if (!m) throw err;
    return { code: Number(m[1]), reason: m[2] };
  }
}

let nextRid = 1;

/** Sends a v4 request and waits for its answer (ok, the reply of that type, or the error naming it). */
export async function request(
  client: RawClient,
  frame: Record<string, unknown> & { t: string },
): Promise<{ t: string; [k: string]: unknown }> {
  const rid = nextRid++;
  client.send({ ...frame, rid } as never);
  for (;;) {
    const f = await client.nextOf('ok', 'error', 'devices', 'export', 'friends', 'lookup');
    if ('rid' in f && f.rid === rid) return f as never;
    if (f.t === 'error' && f.ref === String(rid)) return f as never;
  }
}

export function approve(session: DeviceSession, identity: Identity, device: Device) {
  return request(session.client, {
    t: 'device',
    op: 'approve',
    dk: device.dk,
    cert: certify(identity, device),
    box: sealIdentity(identity, device),
  });
}

export function signedRequest(
  session: DeviceSession,
  identity: Identity,
  t: 'export' | 'erase',
  relayId = 'passby',
) {
  const ts = Date.now();
  const sig = sodium.crypto_sign_detached(
    accountRequestMessage(t, relayId, session.nonce, ts, identity.id),
    identity.privateKey,
  );
  return request(session.client, { t, ts, sig: toBase64url(sig) });
}

export { type Identity, newIdentity };
