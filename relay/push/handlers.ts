import type { ErrorCode, PushFrame, PushKind, RelayFrame } from '../../protocol/index.js';
import type { Logger } from '../telemetry/index.js';
import type { PushStore } from './contract.js';

/** What the handler needs of the session it serves. */
export interface PushHost {
  readonly uid: string;
  readonly slot: number;
  /** The connection's token (relay/connection Hub): its online mark names it. */
  readonly token: string;
  /** Whether the connection is still open (a request may finish after it closed). */
  readonly isOpen: boolean;
  readonly log: Logger;
  reply(frame: RelayFrame): void;
  reject(code: ErrorCode, message: string | undefined, ref: string): void;
}

/**
 * `push {rid, op}` (PROTOCOL.md "Wake-up pushes"): registers the device's one registration
 * (replacing the one before) or removes it; answered `ok`, or `push_unavailable` for a kind the
 * relay has no credentials for (or an http: endpoint it does not accept).
 */
export class PushHandlers {
  constructor(
    private readonly store: PushStore,
    private readonly kinds: ReadonlySet<PushKind>,
    private readonly insecureEndpoints: boolean,
    /** Marks the connected device online (Waker.registered). */
    private readonly registered: (conn: { uid: string; slot: number; token: string }) => Promise<void>,
  ) {}

  async handle(host: PushHost, frame: PushFrame): Promise<void> {
    const rid = String(frame.rid);
    if (frame.op === 'remove') {
      await this.store.remove(host.uid, host.slot);
      host.log.info({ slot: host.slot }, 'push registration removed');
      return host.reply({ t: 'ok', rid: frame.rid });
    }
    const { rid: _rid, t: _t, op: _op, ...registration } = frame;
    if (!this.kinds.has(registration.kind))
      return host.reject('push_unavailable', `this relay sends no ${registration.kind} wake-ups`, rid);
    if (
      registration.kind === 'webpush' &&
      !this.insecureEndpoints &&
      !registration.endpoint.startsWith('https://')
    )
      return host.reject('push_unavailable', 'this relay sends Web Push only to https:// endpoints', rid);
    await this.store.register(host.uid, host.slot, registration);
    // Marked online now (it is connected), not only from the next refresh.
    if (host.isOpen) await this.registered({ uid: host.uid, slot: host.slot, token: host.token });
    host.log.info({ slot: host.slot, kind: registration.kind }, 'push registration set');
    host.reply({ t: 'ok', rid: frame.rid });
  }
}
