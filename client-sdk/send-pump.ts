import type { PassbyError, SendFrame, ShareFrame } from '../protocol/index.js';
import { fullJitter } from './backoff.js';
import type { Clock } from './options.js';
import type { Outbox, OutboxEntry } from './outbox.js';

export interface SendPumpDeps {
  outbox: Outbox;
  maxInFlight: number;
  clock: Clock;
  random: () => number;
  isOpen(): boolean;
  send(frame: SendFrame | ShareFrame): boolean;
  /** Seals an entry that still holds its plaintext (may wait for the recipient's key). */
  seal(entry: OutboxEntry): Promise<void>;
  /** The entry cannot be sent (a refusal a retry will not fix, or no key for the recipient). */
  fail(entry: OutboxEntry, error: Error): void;
  /** The relay refused the entry for now (it waits and goes again): the app should hear why. */
  held(entry: OutboxEntry, error: PassbyError): void;
}

/** Pauses after the relay said "slow down": full jitter from 250 ms up to 10 s. */
const PAUSE = { baseMs: 250, maxMs: 10_000 };

/**
 * Moves the outbox onto the wire while open: in order, with at most `maxInFlight` sends awaiting
 * `stored`. When the relay answers a send with an error whose retry flag is set (rate_limited,
 * quota_exceeded, store_unavailable), the send goes back in the queue and the pump pauses for a
 * jittered, growing delay before sending the same frame again; but `quota_exceeded` for a part of
 * a share, and `share_incomplete`, go back to the caller.
 */
export class SendPump {
  #running = false;
  #again = false;
  #pauseTimer: unknown;
  #pauses = 0;
  #stopped = false;

  constructor(private readonly d: SendPumpDeps) {}

  run(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#loop();
  }

  /** A send was stored: the relay keeps up, so the next pause starts small again. */
  stored(): void {
    this.#pauses = 0;
  }

  /** The relay refused the send `mid`; true when it was ours. */
  onError(mid: string, error: PassbyError): boolean {
    const { outbox } = this.d;
    const entry = outbox.inflight.get(mid);
    if (!entry) return false;
    // A share the relay calls incomplete goes back to its caller, who must send the parts again:
    // sending the same share frame again alone would only be refused again. A full mailbox is
    // final for a share: its own held parts fill it, so waiting cannot help.
    const final =
      (entry.parts !== undefined && error.code === 'share_incomplete') ||
      ((entry.parts !== undefined || entry.offer !== undefined) && error.code === 'quota_exceeded');
    if (error.retry && !final) {
      outbox.retry(mid);
      // Told once per entry and code, not on every retry: a full mailbox may take days to drain.
      if (entry.refused !== error.code) {
        entry.refused = error.code;
        this.d.held(entry, error);
      }
      this.#pause();
    } else {
      this.d.fail(entry, error);
    }
    return true;
  }

  stop(): void {
    this.#stopped = true;
    this.d.clock.clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
  }

  #pause(): void {
    if (this.#pauseTimer !== undefined) return;
    const delay = fullJitter(++this.#pauses, PAUSE, this.d.random);
    this.#pauseTimer = this.d.clock.setTimeout(() => {
      this.#pauseTimer = undefined;
      this.run();
    }, delay);
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.#drain();
      } while (this.#again);
    } finally {
      this.#running = false;
    }
  }

  async #drain(): Promise<void> {
    const { outbox } = this.d;
    while (
      !this.#stopped &&
      this.#pauseTimer === undefined &&
      this.d.isOpen() &&
      outbox.inflight.size < this.d.maxInFlight
    ) {
      const entry = outbox.queued[0];
      if (!entry) return;
      if (entry.body === undefined) {
        try {
          await this.d.seal(entry);
        } catch (err) {
          if (this.#stopped) return;
          // No key for the recipient (or a forged one): this send can never be opened by them.
          await outbox.remove(entry.mid);
          this.d.fail(entry, err as Error);
          continue;
        }
        continue; // the queue may have changed while sealing; look again
      }
      outbox.take(entry);
      const frame: SendFrame | ShareFrame =
        entry.parts === undefined
          ? { t: 'send', to: entry.to, mid: entry.mid, body: entry.body }
          : { t: 'share', to: entry.to, mid: entry.mid, parts: entry.parts, body: entry.body };
      if (entry.ttl !== undefined) frame.ttl = entry.ttl;
      if (entry.receipt) frame.receipt = true;
      if (entry.offer !== undefined && frame.t === 'send') frame.offer = entry.offer;
      if (!this.d.send(frame)) {
        outbox.retry(entry.mid);
        return;
      }
    }
  }
}
