import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Relay, startRelay } from '../../../relay/index.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';

// Small enough for a quick test, large enough that a busy machine still answers in time.
const PING_INTERVAL_MS = 200;

let relay: Relay;
beforeAll(async () => {
  relay = await startRelay({ config: { pingIntervalMs: PING_INTERVAL_MS } });
});
afterAll(async () => {
  await relay?.close();
});

describe('dead-peer detection', () => {
  it('terminates a peer that stops answering pings while one that answers stays connected', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const silent = await RawClient.connect(relay.url, { autoPong: false });
    let silentPings = 0;
    silent.ws.on('ping', () => silentPings++);
    await silent.authenticate(alice);
    const lively = await RawClient.login(relay.url, bob);

    // Dropped without a closing handshake, so the client sees an abnormal closure.
    expect((await silent.closedWith()).code).toBe(1006);
    expect(silentPings).toBeGreaterThan(0);

    // A ping after that means the relay checked the lively peer again and kept it.
    await once(lively.ws, 'ping');
    expect(lively.closed).toBeUndefined();
    lively.send({ t: 'keys', rid: 1, ids: [bob.id] });
    expect((await lively.next('keys', (f) => f.rid === 1)).keys[bob.id]).toBe(bob.pk);
    expect(await relay.metrics.render()).toContain('passby_connections_open 1');
    await lively.close();
  });
});
