import { Cluster } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../../relay/redis/index.js';
import type { SocialStore } from '../../../relay/social/contract.js';
import { linkMember, type SocialKeys, socialKeys } from '../../../relay/social/keys.js';
import { REDRIVE_AGE_MS } from '../../../relay/social/links.js';
import { createRedisSocialStore } from '../../../relay/social/redis.js';
import { runScript, SCRIPTS } from '../../../relay/social/redis-calls.js';
import { newUid, T0 } from './contract.js';

const off = { proximity: false, autoAccept: false };

/**
 * The two-step friend writes of the Redis store, on one Redis or a Cluster: a relay that stops
 * between the steps is simulated by running a step's script alone, as that relay would have.
 */
export function redriveCases(
  name: string,
  connect: () => Promise<{ client: RedisClient; close(): Promise<void> }>,
) {
  describe(`${name}: friend links changed in two steps`, () => {
    let client: RedisClient;
    let keys: SocialKeys;
    let close: () => Promise<void>;
    let store: SocialStore;
    let alice: string;
    let bob: string;

    beforeEach(async () => {
      ({ client, close } = await connect());
      // The first steps here are run as another relay would (the script alone), so this store has
      // not filed them: it reads the outbox shards at every redrive (no refresh period).
      store = createRedisSocialStore(client, { shardRefreshMs: 0 });
      keys = socialKeys('pb:', client instanceof Cluster);
      [alice, bob] = [newUid(), newUid()];
    });
    afterEach(() => close());

    /** Step 1 alone, filed at `now`: what a relay that died right after it leaves. */
    async function stepOne(op: string, uid: string, other: string, now: number): Promise<string[]> {
      return (await runScript(
        client,
        SCRIPTS.friend,
        [keys.user(uid, 'fr'), keys.linkOutbox(uid)],
        [op, other, linkMember(uid, other), now, ''],
      )) as string[];
    }

    const outbox = (uid: string) => client.zrange(keys.linkOutbox(uid), 0, -1);

    it('finishes a request that stopped after its first step, once the entry is old enough', async () => {
      expect(await stepOne('request', alice, bob, T0)).toEqual(['requested', 'o']);
      expect(await store.friends(alice)).toEqual([{ id: bob, state: 'outgoing', ...off }]);
      expect(await store.friends(bob)).toEqual([]);
      // Younger than the age: its own step 2 may still be under way.
      expect(await store.redrive(T0 + REDRIVE_AGE_MS - 1, 100)).toEqual({ finished: 0, more: false });
      expect(await store.redrive(T0 + REDRIVE_AGE_MS, 100)).toEqual({ finished: 1, more: false });
      expect(await store.friends(bob)).toEqual([{ id: alice, state: 'incoming', ...off }]);
      expect(await outbox(alice)).toEqual([]);
      expect(await store.redrive(T0 + 2 * REDRIVE_AGE_MS, 100)).toEqual({ finished: 0, more: false });
    });

    it('finishes an acceptance and a removal that stopped after their first step', async () => {
      await store.requestFriend(alice, bob);
      expect(await stepOne('accept', bob, alice, T0)).toEqual(['1', 'f']);
      await store.redrive(T0 + REDRIVE_AGE_MS, 100);
      expect((await store.friends(alice)).map((f) => f.state)).toEqual(['friend']);
      expect(await stepOne('remove', alice, bob, T0 + 1)).toEqual(['1', 'x']);
      expect((await store.friends(bob)).map((f) => f.state)).toEqual(['friend']);
      expect(await store.redrive(T0 + 1 + REDRIVE_AGE_MS, 100)).toEqual({ finished: 1, more: false });
      expect(await store.friends(alice)).toEqual([]);
      expect(await store.friends(bob)).toEqual([]);
    });

    it('changes nothing when it re-drives a change whose second step had already run', async () => {
      await store.requestFriend(alice, bob);
      // Step 1 and step 2 of bob's acceptance, then the relay died before clearing the entry.
      await stepOne('accept', bob, alice, T0);
      await runScript(client, SCRIPTS.link, [keys.user(alice, 'fr')], [bob, 'f']);
      const on = { proximity: true, autoAccept: true };
      expect(await store.setConsent(alice, bob, on)).toBe(true);
      expect(await store.setConsent(bob, alice, on)).toBe(true);
      expect(await store.redrive(T0 + REDRIVE_AGE_MS, 100)).toEqual({ finished: 1, more: false });
      expect(await store.friends(alice)).toEqual([{ id: bob, state: 'friend', ...on }]);
      expect(await store.friends(bob)).toEqual([{ id: alice, state: 'friend', ...on }]);
      expect(await outbox(bob)).toEqual([]);
    });

    it('re-drives nothing after changes that finished', async () => {
      await store.requestFriend(alice, bob);
      await store.acceptFriend(bob, alice);
      await store.removeFriend(alice, bob);
      await store.requestFriend(bob, alice);
      expect(await store.redrive(Date.now() + REDRIVE_AGE_MS, 100)).toEqual({ finished: 0, more: false });
      expect(await store.friends(alice)).toEqual([{ id: bob, state: 'incoming', ...off }]);
    });

    it("applies a user's changes to a pair in order: a new request waits for the removal before it", async () => {
      await store.requestFriend(alice, bob);
      await store.acceptFriend(bob, alice);
      // The removal's step 1 only: bob still holds alice as a friend.
      await stepOne('remove', alice, bob, T0);
      expect(await store.requestFriend(alice, bob)).toBe('requested');
      expect(await store.friends(bob)).toEqual([{ id: alice, state: 'incoming', ...off }]);
      expect(await outbox(alice)).toEqual([]);
    });

    it('makes friends of two users who ask each other at the same time', async () => {
      const answers = await Promise.all([store.requestFriend(alice, bob), store.requestFriend(bob, alice)]);
      expect(answers.every((a) => a === 'requested' || a === 'friends')).toBe(true);
      expect(await store.friends(alice)).toEqual([{ id: bob, state: 'friend', ...off }]);
      expect(await store.friends(bob)).toEqual([{ id: alice, state: 'friend', ...off }]);
    });

    it('leaves no link when a withdrawal crosses an acceptance', async () => {
      await store.requestFriend(alice, bob);
      await Promise.all([store.removeFriend(alice, bob), store.acceptFriend(bob, alice)]);
      expect(await store.friends(alice)).toEqual([]);
      expect(await store.friends(bob)).toEqual([]);
    });
  });
}
