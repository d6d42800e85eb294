import calculateSlot from 'cluster-key-slot';

/*
 * Redis Cluster hashes a key to one of 16,384 slots by its hash tag (the part between the first
 * braces), and a script may only touch keys of one slot. Every key of a user carries the tag
 * {<uid>}; an index that lists users (the mailbox expiry index, say) is sharded per slot, each
 * shard under a tag that hashes to the slot of the users it lists, so that the script that files
 * a user's entry updates the user's shard in the same call. On a standalone server the same keys
 * are used: one layout, whatever the deployment.
 */

export const SLOTS = 16_384;

/** The slot of a key, or of a hash tag given as `{tag}`. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/** The slot of every key of user `uid` ({uid}-tagged). */
export function userSlot(uid: string): number {
  return calculateSlot(`{${uid}}`);
}

let tags: string[] | null = null;

/**
 * A short hash tag that hashes to `slot`: the first decimal number, counting from 0, that lands
 * there. The table is built once (about 170,000 CRC16s, a few milliseconds) and is the same on
 * every relay node, so every node names a slot's shard with the same key.
 */
export function slotTag(slot: number): string {
  if (tags === null) {
    const table = new Array<string>(SLOTS);
    let filled = 0;
    for (let n = 0; filled < SLOTS; n++) {
      const s = calculateSlot(String(n));
      if (table[s] === undefined) {
        table[s] = String(n);
        filled++;
      }
    }
    tags = table;
  }
  return tags[slot]!;
}
