import type { Redis } from 'ioredis';

/**
 * Looks at everything a Redis server holds, for "no trace left" and "how many commands"
 * assertions. Test support only: SCAN and per-key reads, fine for test-sized data.
 */

/** Every key with its contents as raw bytes: a string's value, a hash's fields and values in
 * turn, a sorted set's members and scores in turn, a set's or list's members. */
export async function dumpKeys(client: Redis): Promise<Map<string, Buffer[]>> {
  const out = new Map<string, Buffer[]>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) out.set(key, await contents(client, key));
  } while (cursor !== '0');
  return out;
}

/** The same as dumpKeys, each value decoded as text (latin1, so any byte survives). */
export async function dumpText(client: Redis): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const [key, values] of await dumpKeys(client))
    out.set(
      key,
      values.map((v) => v.toString('latin1')),
    );
  return out;
}

async function contents(client: Redis, key: string): Promise<Buffer[]> {
  switch (await client.type(key)) {
    case 'string':
      return [(await client.getBuffer(key)) ?? Buffer.alloc(0)];
    case 'hash':
      return Object.entries(await client.hgetallBuffer(key)).flatMap(([field, value]) => [
        Buffer.from(field),
        value,
      ]);
    case 'zset':
      return client.zrangeBuffer(key, 0, -1, 'WITHSCORES');
    case 'set':
      return client.smembersBuffer(key);
    case 'list':
      return client.lrangeBuffer(key, 0, -1);
    case 'none':
      return []; // expired between SCAN and the read
    default:
      return [Buffer.from(`unexpected type of ${key}`)];
  }
}

/**
 * The commands (cmdstat_*, those run inside scripts included) that `run` caused. EVAL and
 * EVALSHA count together as `script`: ioredis sends a script's first call on a connection as
 * EVAL (which caches it) and EVALSHA after that.
 */
export async function commandsOf(admin: Redis, run: () => Promise<unknown>): Promise<Record<string, number>> {
  await admin.config('RESETSTAT');
  await run();
  const info = await admin.info('commandstats');
  const counts: Record<string, number> = {};
  for (const [, name, calls] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (name!.startsWith('config') || name === 'info') continue;
    const key = name === 'eval' || name === 'evalsha' ? 'script' : name!;
    counts[key] = (counts[key] ?? 0) + Number(calls);
  }
  return counts;
}
