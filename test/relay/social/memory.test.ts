import { createMemorySocialStore, splitSocialStore } from '../../../relay/social/index.js';
import { socialContract } from './contract.js';

socialContract('memory', async () => ({ store: createMemorySocialStore(), close: async () => {} }));

socialContract('memory split in two', async () => ({
  store: splitSocialStore(createMemorySocialStore(), createMemorySocialStore()),
  close: async () => {},
}));
