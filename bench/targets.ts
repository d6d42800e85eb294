import { randomBytes } from 'node:crypto';
import { freePort } from './net.js';
import { type NatsServer, startNats } from './peer-nats.js';
import type { BenchRedis } from './redis-server.js';
import { type ServerProcess, startServer } from './server-process.js';

/**
 * The systems under test, side by side: on one redis-server passby's relay (started here, or a
 * running one given by URL) and the Socket.IO + Redis peer; the bare ws forwarder; and NATS
 * JetStream on its own nats-server (peer-nats.ts).
 */
export interface Targets {
  /** Where the load generator connects to passby. */
  passbyUrl: string;
  /** The relay process when the bench started it (CPU and memory are measured on it). */
  relay: ServerProcess | undefined;
  bare: ServerProcess;
  socketio: ServerProcess;
  nats: NatsServer;
  stop(): Promise<void>;
}

export interface RelayOptions {
  redisUrl: string;
  /** Extra node flags for the relay, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs: string[];
  /** Extra relay environment (e.g. a short PASSBY_PROXIMITY_WINDOW_MS), over the bench's own. */
  env?: Record<string, string>;
}

/**
 * V8 flags every server of the bench runs with: the relay's own, from `npm start` in package.json
 * (a test keeps the two in step), given to the peers too so that all three run on the same heap
 * settings. A young generation of up to 32 MiB per semi-space (Node 20's default is 16) took the
 * relay's CPU per message at 256 B from 37-42 us to 28-29 us on this machine, with idle memory
 * per connection unchanged (bench/RESULTS.md).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/** One secret per bench run, shared by every relay it starts (they share one Redis). */
const DISCOVERY_SECRET = randomBytes(32).toString('hex');

/** Starts one passby relay on a free loopback port, tuned only so that rate limits stay out of the way. */
export async function startRelay(name: string, o: RelayOptions): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name,
    script: 'relay/main.ts',
    nodeArgs: [...SERVER_NODE_FLAGS, ...o.nodeArgs],
    health: { port, path: '/healthz' },
    env: {
      PASSBY_HOST: '127.0.0.1',
      PASSBY_PORT: String(port),
      PASSBY_REDIS_URL: o.redisUrl,
      PASSBY_LOG_LEVEL: 'warn',
      PASSBY_SENDS_PER_SECOND: '1000000',
      PASSBY_SEND_BURST: '1000000',
      // The drain scenario parks 10k messages for one user, the default quota exactly.
      PASSBY_MAILBOX_MAX_MESSAGES: '100000',
      // Required with Redis by relays that have the discovery feature; ignored by older ones.
      PASSBY_DISCOVERY_SECRET: DISCOVERY_SECRET,
      ...o.env,
    },
  });
}

export async function startTargets(redis: BenchRedis, relayUrl: string | undefined, nodeArgs: string[]) {
  const started: { stop(): Promise<void> }[] = [];
  try {
    const relay = relayUrl ? undefined : await startRelay('relay', { redisUrl: redis.url, nodeArgs });
    if (relay) started.push(relay);
    const bare = await startServer({
      name: 'bare-ws',
      nodeArgs: [...SERVER_NODE_FLAGS],
      script: 'bench/peer-bare.ts',
      env: { BENCH_PORT: String(await freePort()) },
    });
    started.push(bare);
    const socketio = await startServer({
      name: 'socketio',
      nodeArgs: [...SERVER_NODE_FLAGS],
      script: 'bench/peer-socketio.ts',
      env: { BENCH_PORT: String(await freePort()), BENCH_REDIS_URL: redis.url },
    });
    started.push(socketio);
    const nats = await startNats();
    started.push(nats);
    const targets: Targets = {
      passbyUrl: relayUrl ?? relay!.url,
      relay,
      bare,
      socketio,
      nats,
      stop: async () => {
        await Promise.all(started.map((s) => s.stop()));
      },
    };
    return targets;
  } catch (err) {
    await Promise.all(started.map((s) => s.stop()));
    throw err;
  }
}
