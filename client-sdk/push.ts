import { checkRegistration, type PushRegistration, toBase64url } from '../protocol/index.js';
import { ClientError } from './errors.js';
import type { Requests } from './requests.js';

/*
 * Wake-up pushes (protocol v4, PROTOCOL.md "Wake-up pushes"): this device's registration with a
 * push service. When something is filed for the device while it has no connection, the relay sends
 * one push that carries nothing; the app, woken, connects, drains and closes (PassbyClient.drain).
 */

export interface PushDeps {
  requests: Requests;
  /** The protocol version of the current connection (0 before the first one). */
  version(): number;
}

export class PushRegistrations {
  constructor(private readonly d: PushDeps) {}

  /**
   * Registers (or replaces) this device's push registration. Rejects with TypeError for a
   * registration that is not one, PassbyError `push_unavailable` when the relay has no
   * credentials of that kind, ClientError `not_supported` before protocol v4.
   */
  async register(registration: PushRegistration): Promise<void> {
    const checked = checkRegistration({ ...registration });
    if (typeof checked === 'string') throw new TypeError(checked);
    await this.d.requests.request({ t: 'push', op: 'register', ...checked }, () => {
      this.#v4();
      return { t: 'push', op: 'register', ...checked };
    });
  }

  /** Removes this device's registration (fine when there is none). */
  async remove(): Promise<void> {
    await this.d.requests.request({ t: 'push', op: 'remove' }, () => {
      this.#v4();
      return { t: 'push', op: 'remove' };
    });
  }

  #v4(): void {
    const version = this.d.version();
    if (version < 4)
      throw new ClientError('not_supported', `"push" needs protocol version 4; the relay speaks v${version}`);
  }
}

/**
 * A Web Push registration from a browser's (or a UnifiedPush distributor's) subscription, as
 * `PushSubscription.toJSON()` gives it: `{ endpoint, keys: { p256dh, auth } }`. The keys may come
 * in base64 or base64url, padded or not; the relay wants canonical base64url.
 */
export function webPushRegistration(subscription: {
  endpoint?: string | null;
  keys?: Record<string, string | undefined> | null;
}): PushRegistration {
  const p256dh = subscription.keys?.p256dh;
  const auth = subscription.keys?.auth;
  if (typeof subscription.endpoint !== 'string' || typeof p256dh !== 'string' || typeof auth !== 'string')
    throw new TypeError('a push subscription has an endpoint and keys.p256dh and keys.auth');
  return {
    kind: 'webpush',
    endpoint: subscription.endpoint,
    p256dh: canonical(p256dh),
    auth: canonical(auth),
  };
}

function canonical(key: string): string {
  const b64 = key.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  let binary: string;
  try {
    binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  } catch {
    throw new TypeError('a push subscription key is not base64');
  }
  return toBase64url(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
