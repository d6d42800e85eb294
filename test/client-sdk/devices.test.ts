import sodium from 'libsodium-wrappers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../client-sdk/envelope.js';
import {
  createClient,
  createIdentity,
  type Identity,
  MemoryStorage,
  PassbyError,
  pairDevice,
  type SentElsewhere,
  type StateKind,
} from '../../client-sdk/index.js';
import { encodePayload } from '../../client-sdk/payload.js';
import {
  type AccountRequestFrame,
  accountRequestMessage,
  deviceAuthMessage,
  deviceCertMessage,
  fromBase64url,
  toBase64url,
} from '../../protocol/index.js';
import { fakeClients } from './fake-clients.js';
import { FakeSocket } from './fake-socket.js';
import { deviceIdFor, handshakeV4, LIMITS_V4, ManualClock, NONCE } from './fake-v4.js';

/*
 * The SDK's side of protocol version 4 (devices, pairing, sent copies, export and erase) against a
 * relay played by hand (FakeSocket). devices-with-relay.test.ts runs the same against the real relay.
 */

let me: Identity;
let bob: Identity;
const verify = (sig: string, message: Uint8Array, pk: Uint8Array | string) =>
  sodium.crypto_sign_verify_detached(
    fromBase64url(sig)!,
    message,
    typeof pk === 'string' ? fromBase64url(pk)! : pk,
  );

beforeAll(async () => {
  await sodium.ready;
  [me, bob] = await Promise.all([createIdentity(), createIdentity()]);
});

const { client, answerKeys } = fakeClients(() => me);

afterEach(() => {
  FakeSocket.created = [];
});

/** A client of `me` open in a v4 session; returns it, its socket, its auth and its storage. */
async function openV4(storage = new MemoryStorage()) {
  const c = await client({ storage });
  c.connect();
  const socket = FakeSocket.latest();
  const auth = await handshakeV4(socket);
  socket.receive({ t: 'welcome', id: me.id, device: deviceIdFor(fromBase64url(auth.dk)!), limits: limits() });
  await c.ready({ timeoutMs: 1000 });
  return { c, socket, auth, storage };
}

function limits() {
  return {
    maxBodyBytes: 65536,
    maxTtlSeconds: 2592000,
    mailboxMaxMessages: 10000,
    mailboxMaxBytes: 1 << 26,
    sendsPerSecond: 200,
    maxDevices: 5,
  };
}

describe('device authentication (protocol v4)', () => {
  it('offers [4, 3, 2, 1] and answers a v4 challenge with the device key and the identity certificate', async () => {
    const { c, socket, auth, storage } = await openV4();
    expect(socket.sent[0]).toEqual({ t: 'hello', versions: [4, 3, 2, 1] });
    expect(Object.keys(auth).sort()).toEqual(['cert', 'dk', 'pk', 'sig', 't', 'ts']);
    expect(verify(auth.sig, deviceAuthMessage('passby', NONCE, auth.ts, auth.dk), auth.dk)).toBe(true);
    expect(auth.pk).toBe(toBase64url(me.publicKey));
    expect(verify(auth.cert!, deviceCertMessage(me.id, auth.dk), me.publicKey)).toBe(true);
    // The identity key's own v1 answer would not pass for this one, nor the reverse.
    expect(verify(auth.sig, deviceAuthMessage('passby', NONCE, auth.ts, auth.dk), me.publicKey)).toBe(false);
    expect(await storage.get('device')).toMatch(/^passby-device-v1:/);
    expect(c.deviceId).toBe(deviceIdFor(fromBase64url(auth.dk)!));
  });

  it('makes the device key of an existing store once, on its first v4 connect, and keeps it', async () => {
    const storage = new MemoryStorage();
    await storage.set('identity', me.export());
    const c = await client({ storage });
    expect(await storage.get('device')).toBeUndefined();
    c.connect();
    const first = await handshakeV4(FakeSocket.latest());
    FakeSocket.latest().drop(1006);
    c.connect();
    const second = await handshakeV4(FakeSocket.latest());
    expect(second.dk).toBe(first.dk);
    const again = await client({ storage });
    again.connect();
    expect((await handshakeV4(FakeSocket.latest())).dk).toBe(first.dk);
  });

  it('answers a v3 relay with the identity key, as before', async () => {
    const c = await client();
    c.connect();
    const socket = FakeSocket.latest();
    socket.handshake(me.id, 'passby', 3);
    await c.ready({ timeoutMs: 1000 });
    const auth = socket.sent.find((f) => f.t === 'auth');
    expect(auth && 'pk' in auth && !('dk' in auth)).toBe(true);
  });

  it.each([
    ['device_revoked', 4009],
    ['erased', 4011],
    ['device_required', 4010],
  ])('ends for good on a %s close: closed, an ended event, no reconnect', async (code, close) => {
    const { c, socket } = await openV4();
    const ended = c.once('ended');
    const states: StateKind[] = [];
    c.on('state', (s) => {
      states.push(s.to);
    });
    socket.drop(close, code);
    expect(await ended).toMatchObject({ code });
    expect(c.state).toMatchObject({ kind: 'closed', error: { code } });
    c.connect();
    expect(states).toEqual(['closed']);
    expect(FakeSocket.created).toHaveLength(1);
  });
});

describe('approving a new device', () => {
  it('signs its key, seals the identity seed to it and resolves with its ID on ok', async () => {
    const { c, socket } = await openV4();
    const dk = sodium.crypto_sign_keypair();
    const payload = `passby-pair:1:${toBase64url(dk.publicKey)}`;
    const approve = socket.next('device');
    const done = c.approveDevice(payload);
    const frame = await approve;
    if (frame.op !== 'approve') throw new Error(`expected approve, got ${frame.op}`);
    expect(frame.dk).toBe(toBase64url(dk.publicKey));
    expect(verify(frame.cert, deviceCertMessage(me.id, frame.dk), me.publicKey)).toBe(true);
    const seed = sodium.crypto_box_seal_open(
      fromBase64url(frame.box)!,
      sodium.crypto_sign_ed25519_pk_to_curve25519(dk.publicKey),
      sodium.crypto_sign_ed25519_sk_to_curve25519(dk.privateKey),
    );
    expect(toBase64url(sodium.crypto_sign_seed_keypair(seed).publicKey)).toBe(toBase64url(me.publicKey));
    socket.receive({ t: 'ok', rid: frame.rid });
    expect(await done).toEqual({ id: deviceIdFor(dk.publicKey) });
  });

  it.each(['too_many_devices', 'device_taken', 'invalid_signature'] as const)(
    'rejects with the relay code %s',
    async (code) => {
      const { c, socket } = await openV4();
      const approve = socket.next('device');
      const done = c.approveDevice(`passby-pair:1:${toBase64url(sodium.crypto_sign_keypair().publicKey)}`);
      const frame = await approve;
      socket.receive({ t: 'error', code, message: code, retry: false, ref: String(frame.rid) });
      await expect(done).rejects.toBeInstanceOf(PassbyError);
      await expect(done).rejects.toMatchObject({ code });
    },
  );

  it('refuses payloads that are not a pairing payload, sending nothing', async () => {
    const { c, socket } = await openV4();
    const key = toBase64url(sodium.crypto_sign_keypair().publicKey);
    const smallOrder = toBase64url(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)));
    const bad = [
      '',
      'passby-pair:1:',
      `passby-pair:2:${key}`,
      `passby-identity-v1:${key}`,
      `passby-pair:1:${key.slice(0, 42)}`,
      `passby-pair:1:${key}A`,
      `passby-pair:1:${key.slice(0, 42)}B`, // not canonical, or another key: either way not this one
      `passby-pair:1:${key.slice(0, 41)}+/`,
      `passby-pair:1:${smallOrder}`,
    ];
    for (const payload of bad) {
      if (payload === `passby-pair:1:${key.slice(0, 42)}B` && fromBase64url(payload.slice(14)) !== null)
        continue;
      await expect(c.approveDevice(payload), payload).rejects.toBeInstanceOf(TypeError);
    }
    await expect(c.approveDevice(42 as unknown as string)).rejects.toBeInstanceOf(TypeError);
    expect(socket.sent.filter((f) => f.t === 'device')).toEqual([]);
  });

  it('lists and revokes devices', async () => {
    const { c, socket } = await openV4();
    const asked = socket.next('devices');
    const list = c.devices();
    const req = await asked;
    const id = deviceIdFor(sodium.crypto_sign_keypair().publicKey);
    const devices = [{ id, created: 1, seen: 2, pending: false, current: true }];
    socket.receive({ t: 'devices', rid: req.rid, devices });
    expect(await list).toEqual(devices);
    const revoke = socket.next('device');
    const revoked = c.revokeDevice(id);
    const frame = await revoke;
    expect(frame).toMatchObject({ op: 'revoke', id });
    socket.receive({ t: 'error', code: 'last_device', message: 'x', retry: false, ref: String(frame.rid) });
    await expect(revoked).rejects.toMatchObject({ code: 'last_device' });
    await expect(c.revokeDevice('not a device')).rejects.toBeInstanceOf(TypeError);
  });

  it('says not_supported on a v3 session instead of sending a v4 frame', async () => {
    const c = await client();
    c.connect();
    const socket = FakeSocket.latest();
    socket.handshake(me.id, 'passby', 3);
    await c.ready({ timeoutMs: 1000 });
    await expect(c.devices()).rejects.toMatchObject({ code: 'not_supported' });
    await expect(c.exportAccount()).rejects.toMatchObject({ code: 'not_supported' });
    expect(socket.sent.map((f) => f.t)).toEqual(['hello', 'auth']);
  });
});

describe('pairing a new device', () => {
  /** A new device's pairing on FakeSockets with a manual clock; `seal` makes the box. */
  async function pairing() {
    const clock = new ManualClock();
    const storage = new MemoryStorage();
    const p = await pairDevice({
      url: 'ws://relay.test/',
      WebSocket: FakeSocket,
      storage,
      clock,
      random: () => 0.5,
    });
    return { p, clock, storage };
  }
  const boxFor = (identity: Identity, dk: string) =>
    toBase64url(
      sodium.crypto_box_seal(
        identity.seed(),
        sodium.crypto_sign_ed25519_pk_to_curve25519(fromBase64url(dk.slice('passby-pair:1:'.length))!),
      ),
    );

  it('shows its payload, waits out unknown_device, opens the box, keeps the identity and says received', async () => {
    const { p, clock, storage } = await pairing();
    expect(p.payload).toMatch(/^passby-pair:1:[A-Za-z0-9_-]{43}$/);
    expect(p.deviceId).toBe(deviceIdFor(fromBase64url(p.payload.slice(14))!));
    const first = await handshakeV4(FakeSocket.latest());
    expect(Object.keys(first).sort()).toEqual(['dk', 'sig', 't', 'ts']); // no identity to certify with
    expect(verify(first.sig, deviceAuthMessage('passby', NONCE, first.ts, first.dk), first.dk)).toBe(true);
    FakeSocket.latest().drop(4008, 'unknown_device');
    clock.advance(21_000); // the backoff
    expect(FakeSocket.created).toHaveLength(2);
    const box = boxFor(me, p.payload);
    await handshakeV4(FakeSocket.latest(), { id: me.id, device: p.deviceId, box });
    const c = await p.client;
    expect(c.id).toBe(me.id);
    expect(await storage.get('identity')).toBe(me.export());
    // The client connects as this device; the box is still there, so it says it has it.
    const socket = FakeSocket.latest();
    expect(FakeSocket.created).toHaveLength(3);
    const auth = await handshakeV4(socket);
    expect(auth.dk).toBe(first.dk);
    expect(verify(auth.cert!, deviceCertMessage(me.id, auth.dk), me.publicKey)).toBe(true);
    const saysReceived = socket.next('device');
    socket.receive({ t: 'welcome', id: me.id, device: p.deviceId, box, limits: LIMITS_V4 });
    const received = await saysReceived;
    expect(received).toMatchObject({ op: 'received' });
    socket.receive({ t: 'ok', rid: received.rid });
    await c.close();
  });

  it('refuses a box that does not open with its key', async () => {
    const { p } = await pairing();
    const otherKey = `passby-pair:1:${toBase64url(sodium.crypto_sign_keypair().publicKey)}`;
    await handshakeV4(FakeSocket.latest(), { id: me.id, device: p.deviceId, box: boxFor(me, otherKey) });
    await expect(p.client).rejects.toMatchObject({ code: 'pairing_failed' });
  });

  it('refuses a box that holds another identity than the relay welcomed', async () => {
    const { p, storage } = await pairing();
    await handshakeV4(FakeSocket.latest(), { id: bob.id, device: p.deviceId, box: boxFor(me, p.payload) });
    await expect(p.client).rejects.toMatchObject({ code: 'pairing_failed' });
    expect(await storage.get('identity')).toBeUndefined();
  });

  it('refuses a welcome without a box, and stops when cancelled', async () => {
    const a = await pairing();
    await handshakeV4(FakeSocket.latest(), { id: me.id, device: a.p.deviceId });
    await expect(a.p.client).rejects.toMatchObject({ code: 'pairing_failed' });
    const b = await pairing();
    b.p.cancel();
    await expect(b.p.client).rejects.toMatchObject({ code: 'cancelled' });
  });
});

describe('sent copies', () => {
  it('opens what this identity sent from another device, hands it over once and acks it', async () => {
    const { c, socket } = await openV4();
    const got: SentElsewhere[] = [];
    c.on('sentElsewhere', (s) => {
      got.push(s);
    });
    const mid = 'm1';
    const body = seal(
      me,
      bob.boxPublicKey,
      { from: me.id, to: bob.id, mid },
      encodePayload({ kind: 'text', text: 'hi bob' }),
    );
    const frame = {
      t: 'sent' as const,
      id: `c:${bob.id}:${mid}`,
      to: bob.id,
      mid,
      ts: 5,
      exp: Date.now() + 60_000,
      body,
    };
    const acked = socket.next('ack');
    socket.receive(frame);
    await answerKeys(socket, bob);
    expect(await acked).toMatchObject({ id: frame.id });
    const again = socket.next('ack');
    socket.receive(frame);
    expect(await again).toMatchObject({ id: frame.id });
    expect(got).toEqual([{ to: bob.id, mid, at: 5, kind: 'text', text: 'hi bob' }]);
  });

  it('rejects a copy this identity did not seal, acking it', async () => {
    const { c, socket } = await openV4();
    const rejected = c.once('rejected');
    c.on('sentElsewhere', () => undefined);
    const mid = 'm2';
    // Sealed by bob to me: the relay cannot pass it off as one of my own sends.
    const body = seal(
      bob,
      me.boxPublicKey,
      { from: me.id, to: bob.id, mid },
      encodePayload({ kind: 'text', text: 'x' }),
    );
    const acked = socket.next('ack');
    socket.receive({
      t: 'sent',
      id: `c:${bob.id}:${mid}`,
      to: bob.id,
      mid,
      ts: 5,
      exp: Date.now() + 60_000,
      body,
    });
    await answerKeys(socket, bob);
    expect(await rejected).toMatchObject({ from: me.id, mid, error: { code: 'tampered' } });
    await acked;
  });
});

describe('the friends notice', () => {
  it('reads the friend list again and tells which friends are gone', async () => {
    const { c, socket } = await openV4();
    const asked = socket.next('friends');
    const listed = c.friends.list();
    const first = await asked;
    const link = (id: string) => ({ id, state: 'friend' as const, proximity: false, autoAccept: false });
    socket.receive({ t: 'friends', rid: first.rid, friends: [link(bob.id), link(me.id.replace(/^./, 'B'))] });
    await listed;
    const removed = c.once('friend');
    const changed = c.once('friends');
    const again = socket.next('friends');
    socket.receive({ t: 'notice', id: `n:${me.id}:t1`, kind: 'friends' });
    const req = await again;
    const acked = socket.next('ack');
    socket.receive({ t: 'friends', rid: req.rid, friends: [link(bob.id)] });
    const gone = me.id.replace(/^./, 'B');
    expect(await removed).toEqual({ user: gone, state: 'removed' });
    expect(await changed).toEqual({ friends: [link(bob.id)], removed: [gone] });
    expect(await acked).toMatchObject({ id: `n:${me.id}:t1` });
  });
});

describe('export and erase', () => {
  it('signs export with the identity key over this connection nonce and returns the parsed body', async () => {
    const { c, socket } = await openV4();
    const asked = socket.next('export' as 'device');
    const exported = c.exportAccount();
    const frame = (await asked) as unknown as AccountRequestFrame;
    expect(
      verify(frame.sig, accountRequestMessage('export', 'passby', NONCE, frame.ts, me.id), me.publicKey),
    ).toBe(true);
    expect(
      verify(frame.sig, accountRequestMessage('erase', 'passby', NONCE, frame.ts, me.id), me.publicKey),
    ).toBe(false);
    const data = { user: me.id, publicKey: toBase64url(me.publicKey), devices: [], friends: [] };
    socket.receive({ t: 'export', rid: frame.rid, body: new TextEncoder().encode(JSON.stringify(data)) });
    expect(await exported).toEqual(data);
  });

  it('refuses an export of another user', async () => {
    const { c, socket } = await openV4();
    const asked = socket.next('export' as 'device');
    const exported = c.exportAccount();
    const frame = (await asked) as unknown as AccountRequestFrame;
    socket.receive({
      t: 'export',
      rid: frame.rid,
      body: new TextEncoder().encode(JSON.stringify({ user: bob.id })),
    });
    await expect(exported).rejects.toMatchObject({ code: 'protocol' });
  });

  it('signs erase, and on ok closes for good and wipes everything it stored', async () => {
    const storage = new MemoryStorage();
    await storage.set('identity', me.export());
    await storage.set('seen/m:x:y', String(Date.now() + 3_600_000));
    const { c, socket } = await openV4(storage);
    expect((await storage.keys('')).sort()).toEqual(['device', 'identity', 'seen/m:x:y']);
    const asked = socket.next('erase' as 'device');
    const erased = c.eraseAccount();
    const frame = (await asked) as unknown as AccountRequestFrame;
    expect(
      verify(frame.sig, accountRequestMessage('erase', 'passby', NONCE, frame.ts, me.id), me.publicKey),
    ).toBe(true);
    socket.receive({ t: 'ok', rid: frame.rid });
    await erased;
    expect(c.state.kind).toBe('closed');
    expect(await storage.keys('')).toEqual([]);
    expect(FakeSocket.created).toHaveLength(1);
  });
});

describe('a client built on a paired identity', () => {
  it('is an ordinary client of that identity', async () => {
    const c = await createClient({
      url: 'ws://relay.test/',
      identity: me,
      WebSocket: FakeSocket,
      autoConnect: false,
    });
    expect(c.id).toBe(me.id);
    await c.close();
  });
});
