export type { SocialLink, SocialPart, SocialStore, SocialSummary } from './contract.js';
export { checkDiscoveryFingerprint } from './discovery-fingerprint.js';
export { type Requester, SOCIAL_FRAME_TYPES, SocialHandlers } from './handlers.js';
export { createMemorySocialStore } from './memory.js';
export { createRedisSocialStore } from './redis.js';
export { splitSocialStore } from './split.js';
