import type {
  AccountClientFrame,
  DevicesReplyFrame,
  ExportReplyFrame,
  FriendsReplyFrame,
  LookupReplyFrame,
  OkFrame,
  PassbyError,
  PushFrame,
  SocialClientFrame,
} from '../protocol/index.js';
import { ClientError } from './errors.js';
import type { Clock } from './options.js';

/** A request frame with a `rid`: protocol v2 (social) and v4 (devices, export, erase, push). */
export type RequestFrame = SocialClientFrame | AccountClientFrame | PushFrame;

/** A request as the caller writes it: the layer adds the `rid`. */
export type SocialRequest = RequestFrame extends infer F
  ? F extends RequestFrame
    ? Omit<F, 'rid'>
    : never
  : never;

/** What the relay answers a request with, when it does not refuse it. */
export type ReplyTo<R extends SocialRequest> = R['t'] extends 'friends'
  ? FriendsReplyFrame
  : R['t'] extends 'lookup'
    ? LookupReplyFrame
    : R['t'] extends 'devices'
      ? DevicesReplyFrame
      : R['t'] extends 'export'
        ? ExportReplyFrame
        : OkFrame;

export type SocialReply =
  | OkFrame
  | FriendsReplyFrame
  | LookupReplyFrame
  | DevicesReplyFrame
  | ExportReplyFrame;

/** The reply types that answer a request of the same name; every other request is answered `ok`. */
const NAMED_REPLIES: ReadonlySet<string> = new Set(['friends', 'lookup', 'devices', 'export']);

export interface RequestsDeps {
  /** Sends a frame on the open connection; false when there is none (the request waits). */
  send(frame: RequestFrame): boolean;
  /** The next request ID, shared with the key directory so that every `error.ref` is unambiguous. */
  nextRid(): number;
  clock: Clock;
  /** How long a request may take in all, waiting for a connection included. */
  timeoutMs: number;
}

interface Pending {
  request: SocialRequest;
  /** Builds the request as it leaves, on the connection it leaves on (a signature over its nonce). */
  prepare: (() => SocialRequest) | undefined;
  rid: number | undefined;
  timer: unknown;
  resolve(reply: SocialReply): void;
  reject(error: Error): void;
}

/**
 * Protocol v2 requests and their answers, matched by `rid`. A request made while the connection
 * is not open waits for it; either way it settles within `timeoutMs`: with the relay's reply, with
 * a PassbyError when the relay refuses (the code from the protocol's error table), or with a
 * ClientError: `timeout`, `disconnected` (the socket dropped after the request went out, so it
 * may or may not have taken effect; nothing is re-sent behind the app's back) or `closed`.
 */
export class Requests {
  /** Sent, awaiting an answer, by rid. */
  readonly #sent = new Map<number, Pending>();
  /** Waiting for an open connection, oldest first. */
  #unsent: Pending[] = [];
  #closed = false;

  constructor(private readonly d: RequestsDeps) {}

  /**
   * Sends `request` once a connection is open. `prepare`, when given, builds the frame as it
   * leaves (it may throw: the request then fails with that error); `request` names its type.
   */
  request<R extends SocialRequest>(request: R, prepare?: () => R): Promise<ReplyTo<R>> {
    if (this.#closed) return Promise.reject(new ClientError('closed'));
    return new Promise<SocialReply>((resolve, reject) => {
      const p: Pending = { request, prepare, rid: undefined, timer: undefined, resolve, reject };
      p.timer = this.d.clock.setTimeout(() => {
        const why = `the relay did not answer "${request.t}" within ${this.d.timeoutMs} ms`;
        this.#settle(p, new ClientError('timeout', why));
      }, this.d.timeoutMs);
      this.#unsent.push(p);
      this.flush();
    }) as Promise<ReplyTo<R>>;
  }

  /** Sends every request that waited for a connection. Call on open. */
  flush(): void {
    while (this.#unsent.length > 0) {
      const p = this.#unsent[0]!;
      let request = p.request;
      if (p.prepare) {
        try {
          request = p.prepare();
        } catch (err) {
          this.#settle(p, err instanceof Error ? err : new ClientError('protocol', String(err)));
          continue;
        }
      }
      const rid = this.d.nextRid();
      if (!this.d.send({ ...request, rid } as RequestFrame)) return;
      this.#unsent.shift();
      p.rid = rid;
      this.#sent.set(rid, p);
    }
  }

  /** The connection dropped: requests without an answer fail with `disconnected`. */
  disconnected(): void {
    for (const p of [...this.#sent.values()]) this.#settle(p, new ClientError('disconnected'));
  }

  /** The client closed for good: every request fails with `error` or `closed`. */
  close(error?: Error): void {
    this.#closed = true;
    for (const p of [...this.#sent.values(), ...this.#unsent])
      this.#settle(p, error ?? new ClientError('closed'));
  }

  /** A reply from the relay; false when no request of ours has its rid (a late one, say). */
  onReply(frame: SocialReply): boolean {
    const p = this.#sent.get(frame.rid);
    if (!p) return false;
    const expected = NAMED_REPLIES.has(p.request.t) ? p.request.t : 'ok';
    if (frame.t !== expected) {
      this.#settle(p, new ClientError('protocol', `the relay answered "${p.request.t}" with "${frame.t}"`));
    } else {
      this.#settle(p, frame);
    }
    return true;
  }

  /** The relay refused the request with this rid; false when it is not one of ours. */
  onError(rid: number, error: PassbyError): boolean {
    const p = this.#sent.get(rid);
    if (!p) return false;
    this.#settle(p, error);
    return true;
  }

  /** Requests not settled yet (sent or waiting). */
  get size(): number {
    return this.#sent.size + this.#unsent.length;
  }

  #settle(p: Pending, result: SocialReply | Error): void {
    this.d.clock.clearTimeout(p.timer);
    if (p.rid !== undefined) this.#sent.delete(p.rid);
    this.#unsent = this.#unsent.filter((u) => u !== p);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }
}
