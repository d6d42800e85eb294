import type { AckBatchFrame, ErrorCode, RelayFrame, SendFrame } from '../../protocol/index.js';
import type { AckResult, MailboxEntry, SendInput, SendResult } from '../mailbox/index.js';
import type { Logger } from '../telemetry/index.js';
import type { Delivery } from './delivery.js';
import type { DeliveryClock } from './delivery-clock.js';
import type { Intake } from './intake.js';
import type { SessionDeps } from './session.js';

/** Bytes a frame under way is counted for besides its body (the frame object, its header). */
const FRAME_OVERHEAD_BYTES = 256;

const ONLY_FRIENDS_SHARE = "this relay files shares only from the recipient's friends";

/** What the message path needs of its connection (the Session). */
export interface MessageHost {
  readonly uid: string;
  /** The device's slot: acks clear its claim on an entry. */
  readonly slot: number;
  /** The identity's live devices: with more than one, a send is copied to the others. */
  readonly liveDevices: number;
  /** The protocol version agreed in hello. */
  readonly version: number;
  readonly log: Logger;
  /** Whether debug records are written (checked before building one). */
  readonly debugging: boolean;
  readonly delivery: Delivery | undefined;
  readonly intake: Intake;
  readonly clock: DeliveryClock;
  reject(code: ErrorCode, message?: string, ref?: string): void;
  reply(frame: RelayFrame): void;
  /** A defect while handling a frame: ends the connection. */
  failed(err: unknown): void;
}

/**
 * One connection's message path: a `send` to the store and its confirmation, and acks. It runs
 * on callbacks rather than async functions: a suspended async function kept about a kilobyte per
 * message alive until Redis answered, most of the relay's garbage at saturation
 * (bench/RESULTS.md). The intake counts each operation, and the payload bytes it holds, until its
 * continuation has run.
 */
export class MessagePath {
  constructor(
    private readonly host: MessageHost,
    private readonly deps: SessionDeps,
  ) {}

  /** A send that passed the rate limit. */
  send(frame: SendFrame): void {
    const { config, now, store, hub } = this.deps;
    const host = this.host;
    if (frame.offer !== undefined && host.version < 2) {
      return host.reject('invalid_field', 'send.offer needs protocol version 2', frame.mid);
    }
    const ttlSeconds = Math.min(frame.ttl ?? config.maxTtlSeconds, config.maxTtlSeconds);
    const input: SendInput = {
      from: host.uid,
      to: frame.to,
      mid: frame.mid,
      body: frame.body,
      ttlMs: ttlSeconds * 1000,
      receipt: frame.receipt === true,
      now: now(),
      // Every device of the recipient connected here is handed the entry at once (sent() below).
      bell: !hub.allHere(frame.to) && frame.offer === undefined,
    };
    if (frame.offer !== undefined) {
      input.offer = frame.offer;
      input.holdMs = config.heldPartsTtlSeconds * 1000;
    } else if (host.liveDevices > 1) {
      // What one device sends reaches the identity's others (PROTOCOL.md "Version 4").
      input.copy = { slot: host.slot };
    }
    host.intake.begin(frame.body.length + FRAME_OVERHEAD_BYTES);
    let stored: Promise<SendResult | undefined>;
    try {
      stored =
        frame.offer !== undefined && config.strangerShares === 0 ? this.holdPart(input) : store.send(input);
    } catch (err) {
      return this.sendFailed(frame, err);
    }
    stored.then(
      (result) => this.sent(frame, result),
      (err: unknown) => this.sendFailed(frame, err),
    );
  }

  /** A part of a share when only friends may share (PASSBY_STRANGER_SHARES=0); undefined: refused. */
  private async holdPart(input: SendInput): Promise<SendResult | undefined> {
    if (!(await this.deps.social.mayShare(input.to, input.from))) return undefined;
    return this.deps.store.send(input);
  }

  private sent(frame: SendFrame, result: SendResult | undefined): void {
    const host = this.host;
    try {
      if (result === undefined) return host.reject('not_friends', ONLY_FRIENDS_SHARE, frame.mid);
      if (result.status === 'unknown_recipient')
        return host.reject('unknown_recipient', undefined, frame.mid);
      if (result.status === 'quota_exceeded') {
        return host.reject('quota_exceeded', `the recipient's mailbox is full (${result.limit})`, frame.mid);
      }
      const { metrics, hub } = this.deps;
      if (result.dup) metrics.duplicates++;
      else metrics.stored++;
      if (host.debugging)
        host.log.debug({ to: frame.to, mid: frame.mid, bytes: frame.body.length, dup: result.dup }, 'stored');
      host.reply({ t: 'stored', to: frame.to, mid: frame.mid, exp: result.exp, dup: result.dup });
      if (result.dup || frame.offer !== undefined) return;
      // Its devices that are away get a wake-up (asynchronous; nothing here waits for it).
      this.deps.wake(frame.to);
      // The recipient is on this node (the doorbell was skipped, or rang too): hand the entry over
      // without another store round trip; Delivery turns it into a pull when it would overtake.
      const here = hub.get(frame.to);
      if (here === undefined) return;
      const entry: MailboxEntry = {
        kind: 'msg',
        id: `m:${host.uid}:${frame.mid}`,
        seq: result.seq,
        from: host.uid,
        mid: frame.mid,
        ts: result.ts,
        exp: result.exp,
        body: frame.body,
      };
      for (const conn of here) conn.offer(entry, result.prev);
    } catch (err) {
      host.failed(err);
    } finally {
      host.intake.end(frame.body.length + FRAME_OVERHEAD_BYTES);
    }
  }

  private sendFailed(frame: SendFrame, err: unknown): void {
    try {
      this.host.log.error({ err }, 'store failed a send');
      this.host.reject('store_unavailable', 'the payload was not stored; send it again', frame.mid);
    } finally {
      this.host.intake.end(frame.body.length + FRAME_OVERHEAD_BYTES);
    }
  }

  /**
   * An ack: the client has the entry, so its window slot is free now, not one store round trip
   * later (a backlog pulls its next batch meanwhile). The entry itself is deleted only once the
   * store confirms; if it fails, Delivery offers the entry again.
   */
  ack(id: string): void {
    const host = this.host;
    const seq = host.delivery?.acked(id) ?? 0;
    host.intake.begin(FRAME_OVERHEAD_BYTES);
    let done: Promise<AckResult>;
    try {
      done = this.deps.store.ack(host.uid, host.slot, id, this.deps.now());
    } catch (err) {
      return this.ackFailed([id], err, seq);
    }
    done.then(
      (result) => this.acknowledged([id], [result]),
      (err: unknown) => this.ackFailed([id], err, seq),
    );
  }

  /** Version 3: each ID is handled as its own ack, in one store call for the frame. */
  acks(frame: AckBatchFrame): void {
    const host = this.host;
    if (host.version < 3) return host.reject('invalid_field', 'ack.ids needs protocol version 3');
    const { ids } = frame;
    // The lowest seq among them: where a redelivery starts, should the store fail these acks.
    let lowest = 0;
    for (const id of ids) {
      const seq = host.delivery?.acked(id) ?? 0;
      if (seq > 0 && (lowest === 0 || seq < lowest)) lowest = seq;
    }
    host.intake.begin(FRAME_OVERHEAD_BYTES);
    let done: Promise<AckResult[]>;
    try {
      done = this.deps.store.ackAll(host.uid, host.slot, ids, this.deps.now());
    } catch (err) {
      return this.ackFailed(ids, err, lowest);
    }
    done.then(
      (results) => this.acknowledged(ids, results),
      (err: unknown) => this.ackFailed(ids, err, lowest),
    );
  }

  private acknowledged(ids: readonly string[], results: readonly AckResult[]): void {
    const host = this.host;
    try {
      for (let i = 0; i < ids.length; i++) {
        const { deleted } = results[i]!;
        if (deleted) this.deps.metrics.acked++;
        host.clock.acked(ids[i]!, deleted);
        if (host.debugging) host.log.debug({ entry: ids[i], deleted }, 'acked');
      }
    } catch (err) {
      host.failed(err);
    } finally {
      host.intake.end(FRAME_OVERHEAD_BYTES);
    }
  }

  /**
   * The entries stay in the mailbox: the client hears so, and Delivery offers them again from
   * `lowestSeq` (0 when none of them was handed over on this connection).
   */
  private ackFailed(ids: readonly string[], err: unknown, lowestSeq: number): void {
    const host = this.host;
    try {
      host.log.error({ err }, 'store failed an ack');
      for (const id of ids)
        host.reject('store_unavailable', 'the ack was not recorded; the entry will come again', id);
      host.delivery?.redeliverFrom(lowestSeq);
    } catch (err) {
      host.failed(err);
    } finally {
      host.intake.end(FRAME_OVERHEAD_BYTES);
    }
  }
}
