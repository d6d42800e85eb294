import type { RedisClient } from './connection.js';
import { Args, evalScript } from './eval.js';
import { loadScripts } from './lua.js';
import { slotOf } from './slots.js';

/*
 * A lease: at most one relay at a time does a job (sweeping one Redis node's slots), and when
 * that relay dies (even SIGKILLed) another takes the job over once the lease runs out. The holder
 * renews it each time it does the job; a renewal by anyone else fails. The key is one string
 * (one slot), taken and renewed by lua/lease.lua.
 */

const { lease } = loadScripts(import.meta.url, ['lease']);

export interface Leases {
  /** True when this relay holds (took or renewed) lease `key` for the next `ms`. */
  hold(key: string, ms: number): Promise<boolean>;
}

/** `holder`: this relay's name in the leases it holds (by default its pid and a random part). */
export function leases(
  client: RedisClient,
  holder = `${process.pid}:${Math.random().toString(36).slice(2)}`,
): Leases {
  return {
    async hold(key, ms) {
      const args = new Args()
        .text(key)
        .endKeys()
        .text(holder)
        .int(Math.max(1, Math.ceil(ms)));
      return (await evalScript(client, lease, args, slotOf(key))) === 1;
    },
  };
}
