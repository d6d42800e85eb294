import sodium from 'libsodium-wrappers';
import { WebSocket } from 'ws';
import {
  authMessage,
  encodeFrame,
  PROTOCOL_VERSION,
  type SocialClientFrame,
  splitFrame,
  toBase64url,
} from '../protocol/index.js';
import type { Identity } from './link.js';

/*
 * A protocol-v2 passby client for the proximity scenario: real authentication, then v2 requests
 * (`friend`, `consent`, `presence`) each answered `ok {rid}` or `error {ref: rid}`, and notices,
 * which it acknowledges and hands to `onNotice`. Frames are split, not fully validated (the
 * generator shares the CPU with the relay; conformance is tested elsewhere).
 */
export interface NoticeSeen {
  id: string;
  kind: string;
  user: string;
}

export interface SocialLinkOptions {
  url: string;
  identity: Identity;
  localAddress?: string;
  timeoutMs?: number;
  onNotice(link: SocialLink, notice: NoticeSeen): void;
}

type Pending = { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout };

export class SocialLink {
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    readonly id: string,
    private readonly ws: WebSocket,
  ) {}

  /** Connects and authenticates; resolves once `welcome` arrived. */
  static open(o: SocialLinkOptions): Promise<SocialLink> {
    const { identity } = o;
    if (!identity.pk || !identity.sk) throw new TypeError('a passby identity needs a key pair');
    const pk = identity.pk;
    const sk = identity.sk;
    const ws = new WebSocket(o.url, { perMessageDeflate: false, localAddress: o.localAddress });
    const link = new SocialLink(identity.id, ws);
    return new Promise((resolve, reject) => {
      let open = false;
      const timer = setTimeout(
        () => fail(new Error('passby: authentication timed out')),
        o.timeoutMs ?? 30_000,
      );
      const fail = (err: Error) => {
        if (open) return;
        clearTimeout(timer);
        ws.terminate();
        reject(err);
      };
      ws.on('open', () => ws.send(encodeFrame({ t: 'hello', versions: [PROTOCOL_VERSION] })));
      ws.on('error', (err) => fail(err));
      ws.on('close', (code) => {
        if (!open) fail(new Error(`passby: closed ${code} before welcome`));
        link.failAll(new Error(`passby: closed ${code}`));
      });
      ws.on('message', (data: Buffer) => {
        const split = splitFrame(data);
        if ('ok' in split) return;
        const h = split.header;
        switch (h.t) {
          case 'ok':
            return link.settle(h.rid as number, undefined);
          case 'error':
            if (!open) return fail(new Error(`passby: ${String(h.code)}: ${String(h.message)}`));
            return link.settle(
              Number(h.ref),
              `${String(h.code)}${h.message ? `: ${String(h.message)}` : ''}`,
            );
          case 'notice':
            ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
            return o.onNotice(link, { id: h.id as string, kind: String(h.kind), user: String(h.user) });
          case 'msg':
          case 'receipt':
            ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
            return;
          case 'challenge': {
            const ts = Date.now();
            const message = authMessage(h.relay as string, h.nonce as string, ts, pk);
            const sig = toBase64url(sodium.crypto_sign_detached(message, sk));
            ws.send(encodeFrame({ t: 'auth', pk, ts, sig }));
            return;
          }
          case 'welcome':
            open = true;
            clearTimeout(timer);
            resolve(link);
            return;
          default:
            return;
        }
      });
    });
  }

  /** Sends a v2 request (its rid is filled in) and resolves on `ok`; rejects on `error` or timeout. */
  request(frame: DistributiveOmit<SocialClientFrame, 'rid'>, timeoutMs = 30_000): Promise<void> {
    const rid = this.nextRid++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`${frame.t}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rid, { resolve, reject, timer });
      this.ws.send(encodeFrame({ ...frame, rid } as SocialClientFrame));
    });
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
  }

  private settle(rid: number, error: string | undefined): void {
    const p = this.pending.get(rid);
    if (!p) return;
    this.pending.delete(rid);
    clearTimeout(p.timer);
    if (error === undefined) p.resolve();
    else p.reject(new Error(error));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
