import { createMemoryStore } from '../../../relay/mailbox/memory.js';
import { CONTRACT_LIMITS, storeContract } from './contract.js';

storeContract('memory', async (limits = CONTRACT_LIMITS) => {
  const store = createMemoryStore(limits);
  return { store, close: () => store.close() };
});
