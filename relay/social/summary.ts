import type { SocialPart, SocialSummary } from './contract.js';

/*
 * What every store's summary starts from and how splitSocialStore joins its two halves' answers
 * (SocialStore.summary): each half fills only the fields of its part (contract.ts SocialPart).
 */

/** A summary that holds nothing. */
export function emptySummary(): SocialSummary {
  return {
    links: [],
    discoverable: null,
    pendingMatches: { count: 0, latestExpiry: null },
    presence: null,
    rates: { lookups: null, presence: null },
  };
}

/** Which halves a call with `part` covers. */
export function partsOf(part: SocialPart | undefined): { durable: boolean; ephemeral: boolean } {
  return { durable: part !== 'ephemeral', ephemeral: part !== 'durable' };
}

/** The durable half's fields of `durable` with the ephemeral half's of `ephemeral`. */
export function joinSummaries(durable: SocialSummary, ephemeral: SocialSummary): SocialSummary {
  return {
    links: durable.links,
    discoverable: durable.discoverable,
    pendingMatches: durable.pendingMatches,
    presence: ephemeral.presence,
    rates: { lookups: durable.rates.lookups, presence: ephemeral.rates.presence },
  };
}
