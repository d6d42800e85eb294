import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, createIdentity, type PassbyClient } from '../../client-sdk/index.js';
import { useRelay } from '../support/relay-fixture.js';

/*
 * The relay's matching window and presence interval come in welcome (issue 15, item 8): a client
 * given neither option follows the relay's values, not its own defaults (60 s, 15 min).
 */

const fixture = useRelay({ presenceIntervalMs: 120_000, proximityWindowMs: 600_000 });
const clients: PassbyClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe('welcome', () => {
  it('announces the presence interval and the matching window, and the SDK keeps to them', async () => {
    const c = await createClient({ url: fixture.relay.url, identity: await createIdentity(), WebSocket });
    clients.push(c);
    await c.ready({ timeoutMs: 10_000 });
    expect(c.limits).toMatchObject({ presenceIntervalMs: 120_000, proximityWindowMs: 600_000 });
    const fix = { latitude: 52.52, longitude: 13.405, accuracyMeters: 10, timestamp: Date.now() };
    const first = await c.proximity.update(fix);
    expect(first).toMatchObject({ sent: true });
    const second = await c.proximity.update({ ...fix, timestamp: Date.now() });
    expect(second).toMatchObject({ sent: false, reason: 'too_soon' });
    const wait = 'retryAt' in second ? second.retryAt - Date.now() : 0;
    expect(wait).toBeGreaterThan(60_000); // the relay's 120 s, not the option's default 60 s
  });
});
