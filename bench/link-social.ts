import { WebSocket } from 'ws';
import { encodeFrame, type SocialClientFrame } from '../protocol/index.js';
import type { Identity } from './link.js';
import { openPassbySocket } from './passby-socket.js';

/*
 * A protocol-v2 passby client for the proximity scenario: real authentication (passby-socket.ts),
 * then v2 requests (`friend`, `consent`, `presence`) each answered `ok {rid}` or
 * `error {ref: rid}`, and notices, which it acknowledges and hands to `onNotice`.
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

  /** Connects and authenticates (passby-socket.ts); resolves once `welcome` arrived. */
  static async open(o: SocialLinkOptions): Promise<SocialLink> {
    let link: SocialLink | undefined;
    // Frames right behind `welcome` may come before the socket is handed back.
    const linkOf = (ws: WebSocket) => {
      link ??= new SocialLink(o.identity.id, ws);
      return link;
    };
    const ws = await openPassbySocket({
      url: o.url,
      identity: o.identity,
      localAddress: o.localAddress,
      timeoutMs: o.timeoutMs,
      onFrame: (h, _body, ws) => linkOf(ws).receive(h, o.onNotice),
      onClose: (code) => link?.failAll(new Error(`passby: closed ${code}`)),
    });
    return linkOf(ws);
  }

  private receive(h: Record<string, unknown>, onNotice: SocialLinkOptions['onNotice']): void {
    switch (h.t) {
      case 'ok':
        return this.settle(h.rid as number, undefined);
      case 'error':
        return this.settle(Number(h.ref), `${String(h.code)}${h.message ? `: ${String(h.message)}` : ''}`);
      case 'notice':
        this.ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
        return onNotice(this, { id: h.id as string, kind: String(h.kind), user: String(h.user) });
      case 'msg':
      case 'receipt':
        this.ws.send(encodeFrame({ t: 'ack', id: h.id as string }));
        return;
      default:
        return;
    }
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
