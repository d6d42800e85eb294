import { type OfferFrame, PassbyError } from '../protocol/index.js';
import type { Emitter } from './emitter.js';
import { open } from './envelope.js';
import { ClientError } from './errors.js';
import type { ClientEvents, IncomingOffer } from './events.js';
import type { Identity } from './identity.js';
import type { SeenSet } from './inbox.js';
import type { KeyDirectory } from './keys.js';
import { decodePayload, type ShareDescription } from './payload.js';
import type { Requests } from './requests.js';

export interface OfferDeps {
  identity: Identity;
  keys: KeyDirectory;
  seen: SeenSet;
  events: Emitter<ClientEvents>;
  requests: Requests;
  /** Acknowledges an entry now or, when offline, on the next open. */
  ack(entryId: string): void;
  problem(error: PassbyError | ClientError, mid?: string): void;
}

/**
 * Turns `offer` entries (protocol v2, DESIGN C2) into `offer` events, in delivery order with
 * messages. The preview is verified and decrypted like a message; a forged one is never shown: it
 * is reported as `rejected` and the offer is declined (or, when it was accepted automatically,
 * acknowledged; its content comes as messages, each verified on its own).
 *
 * An offer the relay accepted automatically (`auto`) is handled like a message: remembered and
 * acknowledged once every handler returned or resolved. An offer that waits for an answer is
 * not acknowledged: `accept()` or `reject()` removes it at the relay. Until then it stays there and
 * the relay delivers it again after each reconnect; this process shows it once (the `accept` and
 * `reject` of that event keep working across reconnects), a new process shows it again.
 */
export class Offers {
  /** Offers waiting for an answer that this process has shown, by entry ID. */
  readonly #shown = new Set<string>();

  constructor(private readonly d: OfferDeps) {}

  async handle(f: OfferFrame): Promise<void> {
    const { seen, events } = this.d;
    if (await seen.has(f.id)) {
      if (f.auto) this.d.ack(f.id);
      return;
    }
    if (this.#shown.has(f.id)) return;
    let share: ShareDescription;
    try {
      const senderKey = await this.d.keys.get(f.from);
      const addressing = { from: f.from, to: this.d.identity.id, mid: f.mid };
      const payload = decodePayload(open(this.d.identity, senderKey, addressing, f.body));
      if (payload.kind !== 'share') throw new ClientError('protocol', 'an offer without a share description');
      share = payload.share;
    } catch (err) {
      if (err instanceof ClientError && err.code === 'closed') throw err;
      return this.#refuse(f, err);
    }
    if (events.listenerCount('offer') === 0) {
      if (f.auto) {
        // Its content arrives anyway (as messages); the offer itself is only news.
        await seen.remember(f.id, f.exp);
        return this.d.ack(f.id);
      }
      const why = 'no "offer" handler; the offer stays at the relay';
      return this.d.problem(new ClientError('handler_failed', why), f.mid);
    }
    const base = {
      from: f.from,
      mid: f.mid,
      at: f.ts,
      exp: f.exp,
      parts: f.parts,
      preview: share.preview,
      content: share.content,
    };
    const event: IncomingOffer = f.auto
      ? { ...base, auto: true }
      : { ...base, auto: false, ...this.#answers(f) };
    if (!f.auto) this.#shown.add(f.id);
    try {
      await events.dispatch('offer', event);
    } catch (err) {
      // Not remembered, not acknowledged: the relay delivers it again after the next reconnect.
      this.#shown.delete(f.id);
      const why = 'an "offer" handler threw; the offer comes again';
      return this.d.problem(new ClientError('handler_failed', why, { cause: err }), f.mid);
    }
    if (!f.auto) return;
    await seen.remember(f.id, f.exp);
    this.d.ack(f.id);
  }

  /** accept() and reject() for one offer: the first answer to succeed stands. */
  #answers(f: OfferFrame): { accept(): Promise<void>; reject(): Promise<void> } {
    let answer: { accept: boolean; done: Promise<void> } | undefined;
    const send = (accept: boolean): Promise<void> => {
      if (answer) {
        if (answer.accept === accept) return answer.done;
        return Promise.reject(
          new TypeError(`the offer was already ${answer.accept ? 'accepted' : 'rejected'}`),
        );
      }
      const done = this.#answer(f, accept).catch((err: unknown) => {
        answer = undefined; // a failed answer may be given again
        throw err;
      });
      answer = { accept, done };
      return done;
    };
    return { accept: () => send(true), reject: () => send(false) };
  }

  async #answer(f: OfferFrame, accept: boolean): Promise<void> {
    await this.d.requests.request({ t: 'answer', id: f.id, accept });
    this.#shown.delete(f.id);
    await this.d.seen.remember(f.id, f.exp);
  }

  #refuse(f: OfferFrame, err: unknown): void {
    const error = err instanceof ClientError ? err : new ClientError('tampered', undefined, { cause: err });
    this.d.events.emit('rejected', { from: f.from, mid: f.mid, error });
    if (f.auto) return this.d.ack(f.id);
    // Declined, so the relay deletes the held content at once and the sender learns of it.
    this.#answer(f, false).catch((cause: unknown) => {
      const known = cause instanceof PassbyError || cause instanceof ClientError;
      const why = 'declining an offer that failed verification failed; it comes again';
      this.d.problem(known ? cause : new ClientError('storage', why, { cause }), f.mid);
    });
  }
}
