import type { Metrics } from './metrics.js';

/**
 * A store with each asynchronous operation timed into passby_store_seconds{op}: the same object
 * (a copy of its methods), each method that returns a promise observed when it settles, failed
 * operations included; a method that answers synchronously is left untimed. `family` prefixes
 * the label (mailbox.send, social.lookup); operation names come from the store interfaces, so the
 * label has a fixed, small set of values. Methods in `selfTimed` are the store's own to time
 * (the Redis store's message path, per script call) and are left as they are.
 */
export function timeStore<T extends object>(
  store: T,
  family: string,
  metrics: Metrics,
  selfTimed: readonly string[] = [],
): T {
  const timed = { ...store } as Record<string, unknown>;
  for (const [name, value] of Object.entries(store)) {
    if (typeof value !== 'function' || selfTimed.includes(name)) continue;
    const op = `${family}.${name}`;
    const method = value as (...args: unknown[]) => unknown;
    let observe: ((seconds: number) => void) | undefined;
    timed[name] = (...args: unknown[]): unknown => {
      const started = performance.now();
      const result = method.apply(store, args);
      if (result instanceof Promise) {
        observe ??= metrics.storeOperation(op);
        const end = () => observe!((performance.now() - started) / 1000);
        result.then(end, end);
      } else {
        // A synchronous method (unsentBytes, onSignal): called directly from now on, untimed.
        timed[name] = method.bind(store);
      }
      return result;
    };
  }
  return timed as T;
}
