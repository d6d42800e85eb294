import { PassbyError } from '../../protocol/index.js';
import type { RedisClient, ShardWatch } from '../redis/index.js';
import { linkMember, type SocialKeys } from './keys.js';
import { runScript, SCRIPTS } from './redis-calls.js';

/*
 * Friend links in Redis, where each user's side lives in their own slot (pb:{uid}:fr), so an
 * operation that changes both sides (request, accept, remove) runs as single-slot steps:
 *
 *   1. lua/friend.lua, actor's slot: checks and writes the actor's side, and files the pair in
 *      the link outbox of that slot (a zset shard, member '<actor>:<other>', score the time).
 *   2. lua/link.lua, other's slot: a compare-and-set that brings the other side in line with
 *      the actor's side ('o' asked, 'f' friends, 'x' no link): applied twice, it changes nothing.
 *   3. lua/link-done.lua, actor's slot: clears the outbox entry if it still has step 1's score.
 *
 * A relay that dies between the steps leaves the entry filed; the sweeper's redrive finishes it
 * once it is REDRIVE_AGE_MS old: lua/link-claim.lua re-scores the entry and reads the actor's side
 * as it is now (not as it was), step 2 applies that, step 3 clears it. Decline and consent write
 * one side only and file nothing.
 *
 * Both users acting at once: a user's own changes to one pair reach the other side in order,
 * since step 1 answers 'busy' while the pair's previous entry is still filed, and the caller
 * finishes that entry first. Across the two users, step 2's table (lua/link.lua) converges: two
 * requests crossing each other make friends (each step 2 finds the other's 'o'); a withdrawal
 * crossing an acceptance leaves no link (the withdrawal's 'x' removes the acceptor's 'f', and the
 * acceptance's 'f' finds nothing to upgrade); a removal crossing a new request from the other
 * side leaves the request standing ('x' never removes the other's own 'o').
 */

/** An outbox entry younger than this is left to its own step 2, most likely under way. */
export const REDRIVE_AGE_MS = 30_000;

/** A cutoff that claims an entry whatever its age (step 1 found its pair busy). */
const ANY_AGE = Number.MAX_SAFE_INTEGER;

/** Step 1 retries after finishing a busy pair's entry at most this often. */
const BUSY_RETRIES = 4;

export type LinkOp = 'request' | 'accept' | 'decline' | 'remove' | 'consent';

export interface Links {
  /** Runs op for uid toward other; answers as lua/friend.lua does (never 'busy'). */
  run(op: LinkOp, uid: string, other: string, flags?: string): Promise<string>;
  /** Finishes up to `limit` outbox entries at least REDRIVE_AGE_MS old at `now`. */
  redrive(now: number, limit: number): Promise<{ finished: number; more: boolean }>;
}

/** `nodes`: the slots of each Redis node this relay sweeps now (under its lease). */
export function redisLinks(
  redis: RedisClient,
  keys: SocialKeys,
  clock: () => number,
  nodes: () => Promise<number[][]>,
  outboxes: ShardWatch,
): Links {
  /** Steps 2 and 3 for the actor's entry filed (or claimed) with `score`. */
  async function follow(actor: string, other: string, side: string, score: number): Promise<void> {
    await runScript(redis, SCRIPTS.link, [keys.user(other, 'fr')], [actor, side]);
    await runScript(redis, SCRIPTS['link-done'], [keys.linkOutbox(actor)], [linkMember(actor, other), score]);
  }

  /** Claims the pair's entry if it is at most `cutoff` old, then finishes it; false when none. */
  async function drive(actor: string, other: string, cutoff: number, now: number): Promise<boolean> {
    const claim = (await runScript(
      redis,
      SCRIPTS['link-claim'],
      [keys.linkOutbox(actor), keys.user(actor, 'fr')],
      [linkMember(actor, other), other, cutoff, now],
    )) as string[];
    if (claim.length < 2) return false;
    await follow(actor, other, claim[0]!, Number(claim[1]));
    return true;
  }

  return {
    async run(op, uid, other, flags = '') {
      for (let attempt = 0; attempt < BUSY_RETRIES; attempt++) {
        const now = clock();
        const [answer, side] = (await runScript(
          redis,
          SCRIPTS.friend,
          [keys.user(uid, 'fr'), keys.linkOutbox(uid)],
          [op, other, linkMember(uid, other), now, flags],
        )) as [string, string];
        if (answer === 'busy') {
          await drive(uid, other, ANY_AGE, now);
          continue;
        }
        if (side !== '') await follow(uid, other, side, now);
        return answer;
      }
      throw new PassbyError('store_unavailable', 'a friend link stayed busy: concurrent changes to one pair');
    },

    async redrive(now, limit) {
      const cutoff = Math.max(0, now - REDRIVE_AGE_MS);
      let finished = 0;
      for (const slots of await nodes()) {
        for (const slot of await outboxes.due(redis, slots, keys.linkOutboxOfSlot, cutoff)) {
          outboxes.visited(slot);
          const members = await redis.zrangebyscore(
            keys.linkOutboxOfSlot(slot),
            '-inf',
            String(cutoff),
            'LIMIT',
            0,
            limit - finished,
          );
          for (const member of members) {
            const colon = member.indexOf(':');
            if (await drive(member.slice(0, colon), member.slice(colon + 1), cutoff, now)) finished++;
          }
          if (finished >= limit) return { finished, more: true };
        }
      }
      return { finished, more: false };
    },
  };
}
