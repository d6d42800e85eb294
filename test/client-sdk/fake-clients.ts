import { afterEach, vi } from 'vitest';
import {
  type ClientOptions,
  createClient,
  type Identity,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { toBase64url } from '../../protocol/index.js';
import { FakeSocket } from './fake-socket.js';

/**
 * SDK clients on FakeSockets for unit tests, as `identity()` (read when a client is made, so a
 * `beforeAll` may create it), each closed after its test. Everything that involves the relay
 * itself runs against the real one in the with-relay tests.
 */
export function fakeClients(identity: () => Identity) {
  const clients: PassbyClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    vi.useRealTimers();
    FakeSocket.created = [];
  });

  return {
    async client(extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
      const c = await createClient({
        url: 'ws://relay.test/',
        identity: identity(),
        WebSocket: FakeSocket,
        autoConnect: false,
        random: () => 0.5,
        ...extra,
      });
      clients.push(c);
      return c;
    },

    /** Connects `c` and plays the relay's side of the handshake (in `version`); returns the socket. */
    connect(c: PassbyClient, version = 1): FakeSocket {
      c.connect();
      const socket = FakeSocket.latest();
      socket.handshake(identity().id, 'passby', version);
      return socket;
    },

    /** Answers the client's next key request with the true keys of `who`. */
    async answerKeys(socket: FakeSocket, ...who: Identity[]): Promise<void> {
      const req = await socket.next('keys');
      const keys: Record<string, string> = {};
      for (const id of who) keys[id.id] = toBase64url(id.publicKey);
      socket.receive({ t: 'keys', rid: req.rid, keys });
    },
  };
}
