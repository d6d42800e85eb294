import { loadScripts } from '../redis/index.js';

export { runScript } from '../redis/index.js';

/*
 * The social store's scripts (lua/*.lua, each with a header naming its KEYS and ARGV), loaded
 * once at start-up with the proximity rules' helpers (lua/proximity.lua) in front, and the one way
 * they are called: keys first, every key of one slot, so a Cluster routes the call by its first
 * key. presence-batch, friends-proximity, friends-mutual and a near-notified of several marks run
 * only on a standalone server, where a script may touch any key (redis-proximity.ts).
 */

export const SCRIPTS = loadScripts(
  import.meta.url,
  [
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
    'presence-own',
    'presence-batch',
    'friends-proximity',
    'friends-mutual',
  ],
  'proximity',
);
