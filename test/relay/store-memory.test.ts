import { createMemoryStore } from '../../relay/store-memory.js';
import { CONTRACT_LIMITS, storeContract } from './store-contract.js';

storeContract('memory', async (limits = CONTRACT_LIMITS) => {
  const store = createMemoryStore(limits);
  return { store, close: () => store.close() };
});
