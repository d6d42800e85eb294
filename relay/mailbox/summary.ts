import type { MailboxSummary } from './contract.js';

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
