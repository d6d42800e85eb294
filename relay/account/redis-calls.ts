import { Cluster, type Redis } from 'ioredis';
import { type Leases, leasedNodes, loadScripts, type RedisClient, runScript } from '../redis/index.js';
import { type AccountKeys, deviceOwner, parseOwner } from './keys.js';
import { parseRecord } from './records.js';

/*
 * How the Redis device store (redis.ts) calls its scripts (lua/*.lua, keys first, every key of one
 * slot), the device index's compare-and-set steps, and the Redis nodes its sweeps walk.
 */

export const SCRIPTS = loadScripts(
  import.meta.url,
  [
    'register-first',
    'auth',
    'touch',
    'approve',
    'revoke',
    'unlink',
    'dev-claim',
    'dev-drop',
    'erase-mark',
    'erase-done',
    'inactive',
  ],
  'account',
);

export class AccountCalls {
  readonly clustered: boolean;

  constructor(
    readonly client: RedisClient,
    readonly keys: AccountKeys,
  ) {
    this.clustered = client instanceof Cluster;
  }

  /** Runs script `name` with `keys` (all of one slot) and `argv`. */
  run(
    name: keyof typeof SCRIPTS,
    keys: readonly string[],
    argv: readonly (string | number)[],
  ): Promise<unknown> {
    return runScript(this.client, SCRIPTS[name], keys, argv);
  }

  /**
   * Points pb:{did} at uid's `slot` (dev-claim.lua), replacing an orphan: a value naming a slot
   * whose registry holds neither this device nor its tombstone (a crash between the two steps of
   * an earlier registration or approval). 'taken' when another identity (or an erase under way)
   * holds the device, 'mine' when uid already holds it live at another slot.
   */
  async claim(did: string, uid: string, slot: number): Promise<'ok' | 'mine' | 'taken'> {
    let replace = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      const cur = (await this.run(
        'dev-claim',
        [this.keys.device(did)],
        [deviceOwner(uid, slot), replace],
      )) as string;
      if (cur === '') return 'ok';
      const owner = parseOwner(cur);
      if (owner !== null && (await this.holds(owner.uid, owner.slot, did))) {
        return owner.uid === uid ? 'mine' : 'taken';
      }
      replace = cur;
    }
    return 'taken';
  }

  /** Whether uid's registry holds `did` (live at `slot`, or its tombstone), or is being erased. */
  async holds(uid: string, slot: number, did: string): Promise<boolean> {
    const [erased, value, tombstone] = await this.client.hmget(
      this.keys.registry(uid),
      'x',
      `s${slot}`,
      `r${did}`,
    );
    return erased != null || tombstone != null || (value != null && parseRecord(slot, value)?.id === did);
  }

  /** Deletes pb:dev:{did} if it still holds `value`. */
  async drop(did: string, value: string): Promise<void> {
    await this.run('dev-drop', [this.keys.device(did)], [value]);
  }

  /** The primaries (a connection to each, its node key) whose lease for `job` this relay holds. */
  async leasedPrimaries(leases: Leases, prefix: string, job: string, ms: number): Promise<Primary[]> {
    const held = await leasedNodes(this.client, leases, prefix, job, ms);
    const client = this.client;
    if (!(client instanceof Cluster))
      return held.map((slots) => ({ node: 'standalone', redis: client, slots }));
    const masters = new Map(client.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
    const out: Primary[] = [];
    for (const slots of held) {
      const node = client.slots[slots[0]!]?.[0];
      const redis = node === undefined ? undefined : masters.get(node);
      if (node !== undefined && redis !== undefined) out.push({ node, redis, slots });
    }
    return out;
  }

  /** Every primary: the one server, or each Cluster primary. */
  primaries(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }
}

export interface Primary {
  node: string;
  redis: Redis;
  slots: number[];
}

/** Every key of one node matching `pattern`, a page at a time, from `cursor` ('0': the start). */
export async function* scanPages(
  redis: Redis,
  pattern: string,
  cursor = '0',
): AsyncGenerator<{ keys: string[]; from: string; next: string }> {
  let from = cursor;
  do {
    const [next, keys] = await redis.scan(from, 'MATCH', pattern, 'COUNT', 1000);
    yield { keys, from, next };
    from = next;
  } while (from !== '0');
}
