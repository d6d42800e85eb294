import type { MailboxSummary } from './contract.js';
import type { Box, MemoryState, Msg } from './memory-state.js';
import { countEntry, countHeld, emptySummary } from './summary.js';

/*
 * The in-process store's part of export and erase (relay/account calls them): what a user's own
 * mailbox holds, and removing every trace of users, through the mailbox's own rules.
 */

/** Bytes of an entry's content: a message's or copy's body, an offer's preview. */
export function summaryOf(
  state: MemoryState,
  uid: string,
  slots: readonly number[],
  now: number,
): MailboxSummary {
  const out = emptySummary(slots);
  const box = state.mailboxes.get(uid);
  for (const { entry, mask } of box?.entries.values() ?? [])
    if (entry.exp > now) countEntry(out, entry, mask);
  for (const group of box?.held.values() ?? [])
    for (const { entry } of group.parts.values())
      if (entry.exp > now) countHeld(out, (entry as Msg).body.length, entry.exp);
  return out;
}

/** Whether an entry or held group id (`<kind>:<user>:...` / `<from>:<mid>`) names one of `uids`. */
function namesOf(id: string, uids: ReadonlySet<string>, prefixed: boolean): boolean {
  const start = prefixed ? 2 : 0;
  const end = id.indexOf(':', start);
  return end > start && uids.has(id.slice(start, end));
}

export function forgetAll(state: MemoryState, uids: readonly string[]): void {
  const gone = new Set(uids);
  for (const uid of gone) state.mailboxes.delete(uid);
  for (const [owner, box] of [...state.mailboxes] as [string, Box][]) {
    const ids = [...box.entries.keys()].filter((id) => id[1] === ':' && namesOf(id, gone, true));
    for (const id of ids) {
      const stored = state.remove(owner, id);
      const entry = stored?.entry;
      if (entry?.kind === 'offer') state.dropGroup(owner, entry.from, entry.mid);
    }
    for (const key of [...box.held.keys()].filter((k) => namesOf(k, gone, false))) {
      const split = key.indexOf(':');
      state.dropGroup(owner, key.slice(0, split), key.slice(split + 1));
    }
  }
}
