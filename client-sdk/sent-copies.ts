import type { SentFrame } from '../protocol/index.js';
import type { Emitter } from './emitter.js';
import { openOwn } from './envelope.js';
import { ClientError } from './errors.js';
import type { ClientEvents, SentElsewhere } from './events.js';
import { parseChunk } from './file-transfer.js';
import type { Identity } from './identity.js';
import type { SeenSet } from './inbox.js';
import type { KeyDirectory } from './keys.js';
import { decodePayload } from './payload.js';

export interface SentCopiesDeps {
  identity: Identity;
  keys: KeyDirectory;
  seen: SeenSet;
  events: Emitter<ClientEvents>;
  /** Acknowledges an entry now or, when offline, on the next open. */
  ack(entryId: string): void;
  problem(error: ClientError, mid: string): void;
}

/**
 * Protocol version 4: `sent` copies, what this identity sent from another of its devices. Each is
 * opened with this identity's own secret and the recipient's verified key (envelope.ts, openOwn),
 * handed to the app as `sentElsewhere` once, remembered, then acknowledged, as the inbox does with
 * messages. A copy that fails to open is acknowledged and reported as `rejected`. File chunks and
 * copies nobody listens for are acknowledged and dropped: copies are the app's record of its own
 * sends, and leaving them would fill the relay's delivery window for an app that keeps none.
 */
export class SentCopies {
  constructor(private readonly d: SentCopiesDeps) {}

  async handle(f: SentFrame): Promise<void> {
    const { seen, events, identity } = this.d;
    if ((await seen.has(f.id)) || parseChunk(f.body) || events.listenerCount('sentElsewhere') === 0)
      return this.d.ack(f.id);
    let copy: SentElsewhere;
    try {
      const recipientKey = await this.d.keys.get(f.to);
      const plain = openOwn(identity, recipientKey, { from: identity.id, to: f.to, mid: f.mid }, f.body);
      const payload = decodePayload(plain);
      const base = { to: f.to, mid: f.mid, at: f.ts };
      if (payload.kind === 'text') copy = { ...base, kind: 'text', text: payload.text };
      else if (payload.kind === 'bytes') copy = { ...base, kind: 'bytes', bytes: payload.bytes };
      else if (payload.kind === 'file') {
        const { fileId, name, type, size } = payload.offer;
        copy = { ...base, kind: 'file', fileId, name, type, size };
      } else throw new ClientError('protocol', 'a share description in a sent copy');
    } catch (err) {
      if (err instanceof ClientError && err.code === 'closed') throw err;
      this.d.ack(f.id);
      const error = err instanceof ClientError ? err : new ClientError('tampered', undefined, { cause: err });
      events.emit('rejected', { from: identity.id, mid: f.mid, error });
      return;
    }
    try {
      await events.dispatch('sentElsewhere', copy);
    } catch (err) {
      // Not remembered, not acknowledged: the relay delivers it again after the next reconnect.
      this.d.problem(new ClientError('handler_failed', undefined, { cause: err }), f.mid);
      return;
    }
    await seen.remember(f.id, f.exp);
    this.d.ack(f.id);
  }
}
