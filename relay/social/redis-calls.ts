import { Args, evalScript, loadScripts, type RedisClient, type Script, slotOf } from '../redis/index.js';

/*
 * The social store's scripts (lua/*.lua, each with a header naming its KEYS and ARGV), loaded
 * once at start-up, and the one way they are called: keys first, every key of one slot, so a
 * Cluster routes the call by its first key.
 */

export const SCRIPTS = loadScripts(import.meta.url, [
  'friend',
  'link',
  'link-done',
  'link-claim',
  'discover',
  'undiscover',
  'lookup',
  'sweep-pending',
  'near-mark',
  'near-notified',
  'spend',
  'tokens-swap',
  'token-post',
  'forget-peer',
  'forget-pending',
]);

/** Runs script `s` with `keys` (all of one slot) and `argv`; integers go as decimal text. */
export function runScript(
  redis: RedisClient,
  s: Script,
  keys: readonly string[],
  argv: readonly (string | number)[],
): Promise<unknown> {
  const args = new Args();
  for (const key of keys) args.text(key);
  args.endKeys();
  for (const a of argv) {
    if (typeof a === 'number') args.int(a);
    else args.text(a);
  }
  return evalScript(redis, s, args, slotOf(keys[0]!));
}
