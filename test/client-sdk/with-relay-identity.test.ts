import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type PassbyClient,
  type State,
  type StateKind,
} from '../../client-sdk/index.js';
import { useRelay } from '../support/relay-fixture.js';
import { RecordingWebSocket } from './lossy-sockets.js';

// A relay whose operator set PASSBY_RELAY_ID: the SDK must be told the same before it signs.
const fixture = useRelay({ relayId: 'relay.example.test' });
const clients: PassbyClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  RecordingWebSocket.frames = [];
  RecordingWebSocket.headers = [];
});

async function start(extra: Partial<ClientOptions> = {}) {
  const c = await createClient({
    url: fixture.relay.url,
    identity: await createIdentity(),
    WebSocket: RecordingWebSocket,
    autoConnect: false,
    backoff: { baseMs: 10, maxMs: 20 },
    ...extra,
  });
  clients.push(c);
  const states: StateKind[] = [];
  const settled = new Promise<State>((resolve) => {
    c.on('state', ({ to, state }) => {
      states.push(to);
      if (to === 'open' || to === 'closed') resolve(state);
    });
  });
  c.connect();
  return { c, states, settled };
}

describe('relay identity', () => {
  it('does not sign the challenge of a relay with another ID, and stays closed', async () => {
    const { c, states, settled } = await start(); // relayId: 'passby', the default
    const error = c.once('error');
    expect(await settled).toMatchObject({
      kind: 'closed',
      error: { name: 'ClientError', code: 'wrong_relay' },
    });
    expect(await error).toMatchObject({ error: { code: 'wrong_relay' } });
    expect(states).toEqual(['connecting', 'authenticating', 'closed']);
    expect(RecordingWebSocket.frames.map((f) => f.t)).toEqual(['hello']);
    // Closed is final: asking again does not reconnect.
    c.connect();
    expect(c.state.kind).toBe('closed');
  });

  it('authenticates once told the relay ID its operator configured', async () => {
    const identity = await createIdentity();
    const { c, settled } = await start({ identity, relayId: 'relay.example.test' });
    expect(await settled).toEqual({ kind: 'open' });
    expect(RecordingWebSocket.frames.map((f) => f.t)).toEqual(['hello', 'auth']);
    const self = c.once('message');
    await c.send(identity.id, 'a note to self');
    expect(await self).toMatchObject({ from: identity.id, text: 'a note to self' });
  });
});
