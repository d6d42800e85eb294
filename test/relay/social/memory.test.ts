import { createMemorySocialStore } from '../../../relay/social/memory.js';
import { socialContract } from './contract.js';

socialContract('memory', async () => ({ store: createMemorySocialStore(), close: async () => {} }));
