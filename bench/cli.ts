/** Command-line options of `npm run bench`, parsed without dependencies. */
export const SCENARIOS = [
  'throughput',
  'latency',
  'idle',
  'drain',
  'proximity',
  'scaleout',
  'files',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface IdleCase {
  connections: number;
  relays: number;
}

export interface DrainCase {
  users: number;
  perUser: number;
}

export interface ProximityCase {
  /** Users wanted (a multiple of the pod size, 5); the run may stop earlier at its time cap. */
  users: number;
  /** Users connected at once (one wave), over all load workers. */
  waveUsers: number;
  relays: number;
  /** Presence updates per user in its wave (the first matches, the others must not notify again). */
  rounds: number;
  /** PASSBY_PROXIMITY_WINDOW_MS of the relays started for the scenario. */
  windowMs: number;
  /** No new wave starts after this many seconds. */
  capSeconds: number;
}

export interface Options {
  help: boolean;
  quick: boolean;
  json: string | undefined;
  relayUrl: string | undefined;
  scenarios: ScenarioName[];
  rounds: number;
  /** Length of each timed throughput or latency run, in seconds. */
  duration: number;
  pairs: number;
  workers: number;
  sizes: number[];
  relayNodeArgs: string[];
  /** Directory for a --cpu-prof profile of the relay, summarized at the end. */
  profileRelay: string | undefined;
  idle: IdleCase[];
  drain: DrainCase[];
  proximity: ProximityCase;
}

export const HELP = `Usage: npm run bench -- [options]

Drives a passby relay over loopback next to three peers (a bare ws forwarder: the limit for Node
and ws here; Socket.IO + @socket.io/redis-adapter with store-before-forward and delete-on-ack:
what a user would pick instead; NATS JetStream, a work-queue stream with a durable consumer per
user: what a team would pick for durable delivery), interleaved for several rounds, and prints
one table. It starts its own redis-server (never the one on 6379), its own nats-server (never the
one on 4222), the relay and the peers.

Options
  --quick              every scenario, small enough to finish in about 4 minutes
  --json FILE          also write the figures as JSON to FILE
  --relay-url URL      use a running relay (ws://...) instead of starting one; no CPU, memory or
                       Redis figures for it then, and the idle scenario uses it for every size
  --scenarios LIST     comma-separated, from: ${SCENARIOS.join(', ')} (default: all)
  --rounds N           interleaved rounds per comparison, reported as medians (default 3)
  --duration SECONDS   length of each timed throughput or latency run (default 10, quick 1)
  --pairs N            sender-to-receiver pairs (default 100)
  --sizes LIST         throughput payload sizes in bytes (default 256,4096,65536; the first one
                       is the one the targets and the latency scenario use)
  --workers N          load-generator processes for pairs (default 2)
  --proximity-users N  users of the proximity scenario, a multiple of 5 (default 100000, quick 2000)
  --relay-node-args S  extra node flags for the relay, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  --profile-relay DIR  run the relay under --cpu-prof, write the profile to DIR and print where its
                       CPU went (profiling slows the relay: do not compare those figures)
  --help               this text

Scenarios
  throughput   N pairs at saturation, 256 B / 4 KiB / 64 KiB: delivered msg/s, server CPU per message
  latency      open loop at 5k msg/s, 20k msg/s, 20% and 50% of the bare limit: p50 p99 p99.9 max,
               and the generator's own lag (coordinated omission shows there)
  idle         idle authenticated connections (10k on one relay, 50k over four relays sharing Redis):
               RSS and heap after GC per connection (1 s after the connect burst, and once the
               relays' memory settled, up to 40 s later), connect-plus-authenticate rate
  drain        backlog for offline users (1 x 10k, 10k x 100), drained once they connect
  proximity    presence updates per second with matching: users in pods of 5 mutual friends
               (friend + consent frames), posting H3 cells in waves of connected users (100k users
               in waves of 5k over two relays; quick: 2k in waves of 1k); nearby notices against the
               expected matches, presence keys' TTL and what is left after the window
  scaleout     the throughput load (first size) on 1 and 2 relays, on a standalone redis-server and
               on a Redis Cluster of 3 primaries (no replicas), interleaved per round: msg/s
               cluster/standalone, relay CPU, Redis CPU per primary and commands per message
  files        one file (50 MiB; quick 10 MiB) through the SDK end to end (encrypt, chunk, store,
               deliver, ack, decrypt) against the same chunks over the bare forwarder: MB/s; the
               recipient of either is a load worker, a process of its own, as a second device is

Progress goes to stderr; the table to stdout.`;

const KNOWN = [
  'json',
  'relay-url',
  'scenarios',
  'rounds',
  'duration',
  'pairs',
  'workers',
  'relay-node-args',
  'profile-relay',
  'sizes',
  'proximity-users',
];

export function parseArgs(argv: readonly string[]): Options {
  const flags = new Map<string, string>();
  let help = false;
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--quick') quick = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq > 0 ? eq : undefined);
      if (!KNOWN.includes(name)) throw new Error(`unknown option --${name} (see --help)`);
      if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      else {
        const value = argv[i + 1];
        if (value === undefined) throw new Error(`${arg} needs a value`);
        flags.set(arg.slice(2), value);
        i++;
      }
    } else throw new Error(`unexpected argument "${arg}" (see --help)`);
  }
  const scenarios = (flags.get('scenarios')?.split(',') ?? [...SCENARIOS]).map((s) => s.trim());
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"`);
  }
  const relayUrl = flags.get('relay-url');
  if (relayUrl !== undefined && !/^wss?:\/\/(127\.|localhost)/.test(relayUrl)) {
    throw new Error('--relay-url must be a ws:// URL on loopback');
  }
  return {
    help,
    quick,
    json: flags.get('json'),
    relayUrl,
    scenarios: scenarios as ScenarioName[],
    rounds: positiveInt(flags, 'rounds', 3),
    duration: positiveNumber(flags, 'duration', quick ? 1 : 10),
    pairs: positiveInt(flags, 'pairs', 100),
    workers: positiveInt(flags, 'workers', 2),
    sizes: sizes(flags.get('sizes')),
    relayNodeArgs: flags.get('relay-node-args')?.split(' ').filter(Boolean) ?? [],
    profileRelay: flags.get('profile-relay'),
    idle: quick
      ? [
          { connections: 1_000, relays: 1 },
          { connections: 4_000, relays: 2 },
        ]
      : [
          { connections: 10_000, relays: 1 },
          { connections: 50_000, relays: 4 },
        ],
    drain: quick
      ? [
          { users: 1, perUser: 2_000 },
          { users: 500, perUser: 40 },
        ]
      : [
          { users: 1, perUser: 10_000 },
          { users: 10_000, perUser: 100 },
        ],
    proximity: proximityCase(flags, quick),
  };
}

function proximityCase(flags: Map<string, string>, quick: boolean): ProximityCase {
  const users = positiveInt(flags, 'proximity-users', quick ? 2_000 : 100_000);
  if (users < 5 || users % 5 !== 0) throw new Error('--proximity-users must be a multiple of 5');
  return {
    users,
    waveUsers: Math.min(users, quick ? 1_000 : 5_000),
    relays: 2,
    rounds: 2,
    windowMs: quick ? 3_000 : 15_000,
    capSeconds: quick ? 40 : 900,
  };
}

function sizes(raw: string | undefined): number[] {
  if (raw === undefined) return [256, 4096, 65536];
  const list = raw.split(',').map(Number);
  if (list.length === 0 || !list.every((n) => Number.isInteger(n) && n >= 16 && n <= 65536)) {
    throw new Error('--sizes must be whole numbers of bytes from 16 to 65536');
  }
  return list;
}

function positiveInt(flags: Map<string, string>, key: string, fallback: number): number {
  const n = positiveNumber(flags, key, fallback);
  if (!Number.isInteger(n)) throw new Error(`--${key} must be a whole number`);
  return n;
}

function positiveNumber(flags: Map<string, string>, key: string, fallback: number): number {
  const raw = flags.get(key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${key} must be a positive number`);
  return n;
}
