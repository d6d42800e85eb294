import type { DeviceRecord } from './contract.js';

/**
 * Which of a user's live devices an idle sweep unlinks: linked devices unseen since `idleBefore`
 * and pending devices approved before `pendingBefore`, but never all of them: when every live
 * device qualifies, the most recently seen linked one (a pending one if none is linked) stays.
 * lua/unlink.lua keeps the same rule for the Redis store.
 */
export function idleSlots(
  live: readonly DeviceRecord[],
  idleBefore: number,
  pendingBefore: number,
): number[] {
  const due = live.filter((d) => (d.pending ? d.created < pendingBefore : d.seen < idleBefore));
  if (due.length < live.length) return due.map((d) => d.slot);
  let spare: DeviceRecord | undefined;
  for (const d of live) {
    if (spare === undefined || (spare.pending && !d.pending)) spare = d;
    else if (spare.pending === d.pending && d.seen > spare.seen) spare = d;
  }
  return due.filter((d) => d !== spare).map((d) => d.slot);
}
