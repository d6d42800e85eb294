import { describe, expect, it } from 'vitest';
import { toBase64url } from '../../../protocol/index.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import {
  approve,
  connectDevice,
  type DeviceSession,
  newDevice,
  openBox,
  refusedDevice,
  request,
} from '../../support/raw-device.js';
import { redisBackends } from '../../support/redis-backends.js';
import { useRelay } from '../../support/relay-fixture.js';

/*
 * Several devices of one identity against the real relay (PROTOCOL.md "Version 4: Devices"): each
 * device gets every entry once and acknowledges its own copy; what one device sends reaches the
 * others as `sent`; a revoked device is refused and what waited only for it is gone.
 */

const body = (text: string) => new TextEncoder().encode(text);

describe.each(redisBackends())('devices of one identity, on %s', (_, backend) => {
  const fx = useRelay({}, { backend });

  async function pair(first: DeviceSession, identity: Awaited<ReturnType<typeof newIdentity>>) {
    const device = await newDevice();
    expect(await approve(first, identity, device)).toMatchObject({ t: 'ok' });
    const session = await connectDevice(fx.relay.url, device);
    expect(session.welcome.id).toBe(identity.id);
    expect(session.welcome.device).toBe(device.id);
    // The box opens to the identity's seed, under the new device's own key.
    expect(toBase64url(openBox(session.welcome.box!, device))).toBe(
      toBase64url(identity.privateKey.subarray(0, 32)),
    );
    expect(await request(session.client, { t: 'device', op: 'received' })).toMatchObject({ t: 'ok' });
    return { device, session };
  }

  it('delivers to both devices once each, deletes a copy per ack, and copies sends to the other device', async () => {
    const alice = await newIdentity();
    const phone = await newDevice();
    const a1 = await connectDevice(fx.relay.url, phone, alice);
    expect(a1.welcome.device).toBe(phone.id);
    expect(a1.welcome.box).toBeUndefined();
    const { device: tablet, session: a2 } = await pair(a1, alice);

    const bobId = await newIdentity();
    const bob = await RawClient.login(fx.relay.url, bobId);
    expect(await bob.sendAndWait({ t: 'send', to: alice.id, mid: 'hi', body: body('hello') })).toMatchObject({
      t: 'stored',
    });
    const m1 = await a1.client.next('msg', (m) => m.mid === 'hi');
    const m2 = await a2.client.next('msg', (m) => m.mid === 'hi');
    expect(m1.id).toBe(m2.id);

    // The phone acks; the tablet reconnects before acking: it still gets it, the phone does not.
    a1.client.send({ t: 'ack', id: m1.id });
    const list = await request(a1.client, { t: 'devices' });
    expect((list.devices as { current: boolean }[]).filter((d) => d.current)).toHaveLength(1);
    await a2.client.close();
    const a2again = await connectDevice(fx.relay.url, tablet);
    expect((await a2again.client.next('msg', (m) => m.mid === 'hi')).id).toBe(m1.id);
    a2again.client.send({ t: 'ack', id: m1.id });

    // What alice's phone sends reaches her tablet as `sent`, not her phone.
    await a1.client.sendAndWait({ t: 'send', to: bobId.id, mid: 'out', body: body('bye') });
    const sent = await a2again.client.next('sent', (s) => s.mid === 'out');
    expect(sent.id).toBe(`c:${bobId.id}:out`);
    expect((await bob.next('msg', (f) => f.mid === 'out')).from).toBe(alice.id);
    expect(new TextDecoder().decode(sent.body)).toBe('bye');
    a2again.client.send({ t: 'ack', id: sent.id });
    expect(a1.client.frames.filter((f) => f.t === 'sent')).toEqual([]);
    await Promise.all([a1.client.close(), a2again.client.close(), bob.close()]);
  });

  it('refuses a revoked device, drops what waited only for it, and links a new key', async () => {
    const carol = await newIdentity();
    const c1 = await connectDevice(fx.relay.url, await newDevice(), carol);
    const { device: lost, session: c2 } = await pair(c1, carol);
    const dave = await RawClient.login(fx.relay.url, await newIdentity());
    await dave.sendAndWait({ t: 'send', to: carol.id, mid: 'x', body: body('for both') });
    const m = await c1.client.next('msg', (f) => f.mid === 'x');
    c1.client.send({ t: 'ack', id: m.id });

    expect(await request(c1.client, { t: 'device', op: 'revoke', id: lost.id })).toMatchObject({ t: 'ok' });
    expect(await c2.client.closedWith()).toMatchObject({ code: 4009, reason: 'device_revoked' });
    expect(await refusedDevice(fx.relay.url, lost)).toEqual({ code: 4009, reason: 'device_revoked' });
    // The revoked key is never linked again.
    expect(await approve(c1, carol, lost)).toMatchObject({ t: 'error', code: 'device_taken' });
    // The last device cannot be revoked.
    expect(await request(c1.client, { t: 'device', op: 'revoke', id: c1.welcome.device })).toMatchObject({
      code: 'last_device',
    });

    // The entry waited only for the revoked device: a new device does not get it.
    const { session: c3 } = await pair(c1, carol);
    await dave.sendAndWait({ t: 'send', to: carol.id, mid: 'y', body: body('after') });
    expect((await c3.client.next('msg')).mid).toBe('y');
    await Promise.all([c1.client.close(), c3.client.close(), dave.close()]);
  });

  it('refuses an unknown device key and a version 3 identity login once the identity has devices', async () => {
    const erin = await newIdentity();
    expect(await refusedDevice(fx.relay.url, await newDevice())).toEqual({
      code: 4008,
      reason: 'unknown_device',
    });
    const e1 = await connectDevice(fx.relay.url, await newDevice(), erin);
    const v3 = await RawClient.connect(fx.relay.url);
    await expect(v3.authenticate(erin)).rejects.toThrow(/4010 device_required/);
    // A first-device login for an identity that has one already is an unknown device, not a new slot.
    expect(await refusedDevice(fx.relay.url, await newDevice(), erin)).toEqual({
      code: 4008,
      reason: 'unknown_device',
    });
    await e1.client.close();
  });
});
