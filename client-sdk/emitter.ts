type Handler<T> = (payload: T) => void | Promise<void>;

/**
 * A small typed event emitter. `emit` is for notifications: a handler that throws is reported to
 * `onHandlerError` and never breaks the SDK. `dispatch` is for events the SDK must see handled
 * (an incoming message is acknowledged only after every handler returned or resolved).
 */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<Handler<never>>>();
  readonly #onHandlerError: (err: unknown, event: keyof Events) => void;

  constructor(onHandlerError: (err: unknown, event: keyof Events) => void) {
    this.#onHandlerError = onHandlerError;
  }

  /** Adds a handler; returns a function that removes it. */
  on<K extends keyof Events>(event: K, handler: Handler<Events[K]>): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    set.add(handler as Handler<never>);
    return () => this.off(event, handler);
  }

  off<K extends keyof Events>(event: K, handler: Handler<Events[K]>): void {
    this.#handlers.get(event)?.delete(handler as Handler<never>);
  }

  /** Resolves once the next `event` is emitted (handy in apps and tests alike). */
  once<K extends keyof Events>(event: K): Promise<Events[K]> {
    return new Promise((resolve) => {
      const off = this.on(event, (payload) => {
        off();
        resolve(payload);
      });
    });
  }

  listenerCount(event: keyof Events): number {
    return this.#handlers.get(event)?.size ?? 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const handler of [...(this.#handlers.get(event) ?? [])]) {
      try {
        const result = (handler as Handler<Events[K]>)(payload);
        if (result instanceof Promise) result.catch((err: unknown) => this.#onHandlerError(err, event));
      } catch (err) {
        this.#onHandlerError(err, event);
      }
    }
  }

  /** Runs every handler and waits for all of them; rejects with the first failure. */
  async dispatch<K extends keyof Events>(event: K, payload: Events[K]): Promise<void> {
    const handlers = [...(this.#handlers.get(event) ?? [])] as Handler<Events[K]>[];
    await Promise.all(handlers.map(async (handler) => handler(payload)));
  }
}
