import type { MailboxEntry, MailboxSummary } from './contract.js';

/** The summary of an empty mailbox for the given device slots; each store counts into it. */
export function emptySummary(slots: readonly number[]): MailboxSummary {
  return {
    entries: 0,
    messages: 0,
    bytes: 0,
    oldestExpiry: null,
    newestExpiry: null,
    receipts: 0,
    perSlot: slots.map((slot) => ({ slot, waiting: 0, bytes: 0 })),
  };
}

/** Widens the summary's expiry range to hold `exp`. */
export function noteExpiry(out: MailboxSummary, exp: number): void {
  out.oldestExpiry = out.oldestExpiry === null ? exp : Math.min(out.oldestExpiry, exp);
  out.newestExpiry = out.newestExpiry === null ? exp : Math.max(out.newestExpiry, exp);
}

/** The content bytes an entry holds: a message's or copy's body, an offer's preview. */
function contentBytes(entry: MailboxEntry): number {
  if (entry.kind === 'msg' || entry.kind === 'sent') return entry.body.length;
  if (entry.kind === 'offer') return entry.preview.length;
  return 0;
}

/** Counts one live entry of the mailbox, and what it is to each slot that has not acked it (`mask`). */
export function countEntry(out: MailboxSummary, entry: MailboxEntry, mask: number): void {
  const bytes = contentBytes(entry);
  out.entries++;
  out.bytes += bytes;
  noteExpiry(out, entry.exp);
  if (entry.kind === 'msg') out.messages++;
  if (entry.kind === 'receipt') out.receipts++;
  for (const s of out.perSlot) {
    if (mask & (1 << s.slot)) continue;
    s.waiting++;
    s.bytes += bytes;
  }
}

/** Counts one held part of a share (a message the quota counts, not yet an entry). */
export function countHeld(out: MailboxSummary, bytes: number, exp: number): void {
  out.messages++;
  out.bytes += bytes;
  noteExpiry(out, exp);
}
