import { MemoryStorage } from '../../client-sdk/index.js';

const storages = new Map<string, MemoryStorage>();

/**
 * The storage of an identity's one device in a test. Since protocol version 4 a device is its key,
 * kept in the SDK's storage: a client made again for the same identity with a fresh storage is a
 * new device, which another device must approve. A test that reconnects "the same user" (an app
 * restarting on one phone) passes this storage each time.
 */
export function sameDevice(identity: { id: string }): MemoryStorage {
  let storage = storages.get(identity.id);
  if (storage === undefined) {
    storage = new MemoryStorage();
    storages.set(identity.id, storage);
  }
  return storage;
}
