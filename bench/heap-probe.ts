/*
 * Preloaded into server processes the bench starts (`node --expose-gc --import tsx --import
 * <this file> ...`), so the relay needs no hook of its own. On an IPC message {type: 'heap'} it
 * runs a full GC and answers with process.memoryUsage(). The IPC channel is unref'd so it never
 * keeps a process alive or delays its own shutdown.
 */
interface HeapRequest {
  type: 'heap';
}

const gc = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.on('message', (message: HeapRequest) => {
    if (message?.type !== 'heap') return;
    if (gc) {
      gc();
      gc();
    }
    process.send?.({ type: 'heap', gc: gc !== undefined, ...process.memoryUsage() });
  });
  // After the listener: adding a 'message' listener refs the channel again.
  process.channel?.unref();
}
