import sodium from 'libsodium-wrappers';
import { describe, expect, it } from 'vitest';
import { authMessage, ERRORS, toBase64url } from '../../../protocol/index.js';
import { bystanderStillServed } from '../../support/bystander.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { useRelay } from '../../support/relay-fixture.js';

// Long enough for a handshake on a loaded 2-core machine (300 ms was not, once, under a parallel
// run), short enough for the time-out case to wait little.
const fixture = useRelay({ authTimeoutMs: 1_500 });

describe('authentication', () => {
  it('welcomes a client that signs the challenge, with its user ID', async () => {
    const alice = await newIdentity();
    const client = await RawClient.connect(fixture.relay.url);
    client.send({ t: 'hello', versions: [1] });
    const challenge = await client.next('challenge');
    expect(challenge).toMatchObject({ v: 1, relay: 'passby' });
    const ts = Date.now();
    const sig = sodium.crypto_sign_detached(
      authMessage('passby', challenge.nonce, ts, alice.pk),
      alice.privateKey,
    );
    client.send({ t: 'auth', pk: alice.pk, ts, sig: toBase64url(sig) });
    const welcome = await client.next('welcome');
    expect(welcome.id).toBe(alice.id);
    await client.close();
  });

  it('refuses an answer replayed on a new connection', async () => {
    const alice = await newIdentity();
    const first = await RawClient.connect(fixture.relay.url);
    first.send({ t: 'hello', versions: [1] });
    const challenge = await first.next('challenge');
    const ts = Date.now();
    const auth = {
      t: 'auth' as const,
      pk: alice.pk,
      ts,
      sig: toBase64url(
        sodium.crypto_sign_detached(authMessage('passby', challenge.nonce, ts, alice.pk), alice.privateKey),
      ),
    };
    first.send(auth);
    await first.next('welcome');
    const replay = await RawClient.connect(fixture.relay.url);
    replay.send({ t: 'hello', versions: [1] });
    await replay.next('challenge');
    replay.send(auth);
    expect((await replay.closedWith()).code).toBe(ERRORS.auth_failed.close);
    await first.close();
  });

  it('refuses a forged signature, a signature for another relay and a stale timestamp', async () => {
    const alice = await newIdentity();
    const mallory = await newIdentity();
    const forged = await RawClient.connect(fixture.relay.url);
    forged.send({ t: 'hello', versions: [1] });
    const c1 = await forged.next('challenge');
    const ts = Date.now();
    // Signed by mallory's key but claiming alice's public key.
    const sig = sodium.crypto_sign_detached(
      authMessage('passby', c1.nonce, ts, alice.pk),
      mallory.privateKey,
    );
    forged.send({ t: 'auth', pk: alice.pk, ts, sig: toBase64url(sig) });
    expect((await forged.closedWith()).code).toBe(ERRORS.auth_failed.close);

    const elsewhere = await RawClient.connect(fixture.relay.url);
    await expect(elsewhere.authenticate(alice, 'other-relay')).rejects.toThrow(/closed \(4001/);

    const stale = await RawClient.connect(fixture.relay.url);
    await expect(stale.authenticate(alice, 'passby', Date.now() - 10 * 60_000)).rejects.toThrow(
      /closed \(4002/,
    );
  });

  it('accepts nothing but hello and auth before authentication', async () => {
    const alice = await newIdentity();
    const client = await RawClient.connect(fixture.relay.url);
    client.send({ t: 'send', to: alice.id, mid: 'early', body: new Uint8Array([1]) });
    expect(await client.next('error')).toMatchObject({ code: 'auth_required', ref: 'early' });
    client.send({ t: 'auth', pk: alice.pk, ts: Date.now(), sig: 'A'.repeat(86) });
    expect(await client.next('error')).toMatchObject({ code: 'out_of_order' });
    client.send({ t: 'hello', versions: [1] });
    await client.next('challenge');
    client.send({ t: 'keys', rid: 1, ids: [alice.id] });
    expect(await client.next('error')).toMatchObject({ code: 'auth_required', ref: '1' });
    expect(client.closed).toBeUndefined();
    await bystanderStillServed(fixture.relay.url);
    await client.close();
  });

  it('closes with unsupported_version when no version is shared', async () => {
    const client = await RawClient.connect(fixture.relay.url);
    client.send({ t: 'hello', versions: [7, 9] });
    expect((await client.closedWith()).code).toBe(ERRORS.unsupported_version.close);
  });

  it('closes a connection that does not authenticate in time', async () => {
    const client = await RawClient.connect(fixture.relay.url);
    expect((await client.closedWith()).code).toBe(ERRORS.auth_timeout.close);
    await bystanderStillServed(fixture.relay.url);
  });

  it('closes the first connection of an identity when a second one authenticates', async () => {
    const alice = await newIdentity();
    const first = await RawClient.login(fixture.relay.url, alice);
    const second = await RawClient.login(fixture.relay.url, alice);
    expect((await first.closedWith()).code).toBe(ERRORS.replaced.close);
    expect(second.closed).toBeUndefined();
    await second.close();
  });
});
