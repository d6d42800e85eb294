import { createMemoryStore } from '../../../relay/mailbox/memory.js';
import { CONTRACT_LIMITS, storeContract } from './contract.js';
import { devicesContract } from './contract-devices.js';
import { eraseContract } from './contract-erase.js';

const make = async (limits = CONTRACT_LIMITS) => {
  const store = createMemoryStore(limits);
  return {
    store,
    close: () => store.close(),
    setLiveMask: async (uid: string, mask: number) => store.setLiveMask(uid, mask),
  };
};
storeContract('memory', make);
devicesContract('memory', make);
eraseContract('memory', make);
