import { readFileSync } from 'node:fs';
import { type Script, script } from './eval.js';

/*
 * The relay's Redis scripts are `.lua` files, each beginning with a header that names every
 * KEYS[i] and ARGV[i] it takes (keys are always passed as KEYS, never built inside Lua, so a
 * Cluster can route the call; each call touches one slot). A script is sent as the shared
 * helpers (relay/redis/lua/common.lua), then its domain's library, then its own body: one copy of
 * each helper, loaded when the store starts (`npm run build` copies the files beside the
 * compiled modules).
 */

const COMMON = readFileSync(new URL('./lua/common.lua', import.meta.url), 'utf8');

/**
 * Reads the scripts `names` from the folder `lua/` beside the module at `base`
 * (import.meta.url), each prefixed with common.lua and the folder's `library` file, if named.
 */
export function loadScripts<N extends string>(
  base: string,
  names: readonly N[],
  library?: string,
): Record<N, Script> {
  const read = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, base), 'utf8');
  const prefix = COMMON + (library ? read(library) : '');
  const out = {} as Record<N, Script>;
  for (const name of names) out[name] = script(prefix + read(name), name);
  return out;
}
