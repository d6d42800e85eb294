import type { StoreHealth } from '../mailbox/index.js';

/** Longest GET /healthz waits for the store's answer before it says "unavailable". */
export const HEALTH_TIMEOUT_MS = 500;

/**
 * The store's health as /healthz reports it: true only when the store answered within
 * HEALTH_TIMEOUT_MS. A frozen or absent store makes the answer false on time rather than late,
 * and concurrent requests share one probe, so a poller cannot pile probes up behind a store that
 * does not answer.
 */
export class HealthCheck {
  private probe: Promise<boolean> | undefined;

  constructor(
    private readonly store: StoreHealth,
    private readonly timeoutMs = HEALTH_TIMEOUT_MS,
  ) {}

  check(): Promise<boolean> {
    if (this.probe === undefined) {
      const probe = this.store.healthy().catch(() => false);
      this.probe = probe;
      void probe.finally(() => {
        if (this.probe === probe) this.probe = undefined;
      });
    }
    const probe = this.probe;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.timeoutMs);
      void probe.then((ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
    });
  }
}
