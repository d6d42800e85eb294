import { createMemoryStore } from '../../relay/store-memory.js';
import { CONTRACT_LIMITS, storeContract } from './store-contract.js';

storeContract('memory', async () => {
  const store = createMemoryStore(CONTRACT_LIMITS);
  return { store, close: () => store.close() };
});
