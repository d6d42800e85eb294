import { WebSocket } from 'ws';
import { type ClientFrame, decodeClientFrame, decodeRelayFrame, encodeFrame } from '../../protocol/index.js';

/*
 * Real ws sockets with a fault on the wire, to play an unreliable network or a hostile relay
 * against the real relay: nothing here mocks ws, it only changes what a client puts on it.
 */

/** Loses every ack the client sends, as a connection that dies right after the app handled them. */
export class AckLosingWebSocket extends WebSocket {
  override send(data: Uint8Array): void {
    const decoded = decodeClientFrame(data);
    if (decoded.ok && decoded.frame.t === 'ack') return;
    super.send(data);
  }
}

/** Flips one bit in the ciphertext of every send: what a relay that tampers would deliver. */
export class TamperingWebSocket extends WebSocket {
  override send(data: Uint8Array): void {
    const decoded = decodeClientFrame(data);
    if (decoded.ok && decoded.frame.t === 'send') {
      const body = decoded.frame.body.slice();
      body[body.length - 3]! ^= 0x10;
      super.send(encodeFrame({ ...decoded.frame, body }));
      return;
    }
    super.send(data);
  }
}

/** Flips one bit in the ciphertext of the file chunk with index 3 (its message ID ends in "-3"). */
export class ChunkTamperingWebSocket extends WebSocket {
  override send(data: Uint8Array): void {
    const decoded = decodeClientFrame(data);
    if (decoded.ok && decoded.frame.t === 'send' && decoded.frame.mid.endsWith('-3')) {
      const body = decoded.frame.body.slice();
      body[body.length - 100]! ^= 0x01;
      super.send(encodeFrame({ ...decoded.frame, body }));
      return;
    }
    super.send(data);
  }
}

/** Counts the in-band error codes the relay sends to this socket's client. */
export class ErrorCountingWebSocket extends WebSocket {
  static counts = new Map<string, number>();
  static #waiters: { code: string; resolve: () => void }[] = [];

  /** Resolves when the relay has sent (or already sent) an error with this code. */
  static seen(code: string): Promise<void> {
    if ((ErrorCountingWebSocket.counts.get(code) ?? 0) > 0) return Promise.resolve();
    return new Promise((resolve) => ErrorCountingWebSocket.#waiters.push({ code, resolve }));
  }

  constructor(url: string) {
    super(url);
    this.on('message', (data: Buffer) => {
      const decoded = decodeRelayFrame(new Uint8Array(data));
      if (!decoded.ok || decoded.frame.t !== 'error') return;
      const { code } = decoded.frame;
      ErrorCountingWebSocket.counts.set(code, (ErrorCountingWebSocket.counts.get(code) ?? 0) + 1);
      for (const w of ErrorCountingWebSocket.#waiters.filter((x) => x.code === code)) w.resolve();
      ErrorCountingWebSocket.#waiters = ErrorCountingWebSocket.#waiters.filter((x) => x.code !== code);
    });
  }
}

/** Records every frame its client sends, decoded, and the raw header text, for what-leaves-the-device checks. */
export class RecordingWebSocket extends WebSocket {
  static frames: ClientFrame[] = [];
  static headers: string[] = [];

  override send(data: Uint8Array): void {
    const decoded = decodeClientFrame(data);
    if (decoded.ok) RecordingWebSocket.frames.push(decoded.frame);
    const length = (data[0]! << 8) | data[1]!;
    RecordingWebSocket.headers.push(new TextDecoder().decode(data.subarray(2, 2 + length)));
    super.send(data);
  }
}

/** A real socket the test can cut, as a lost network would: no close frame, the TCP stream ends. */
export class KillableWebSocket extends WebSocket {
  static readonly live = new Set<KillableWebSocket>();

  /** Cuts every socket still open. */
  static killAll(): void {
    for (const socket of KillableWebSocket.live) socket.terminate();
  }

  constructor(url: string) {
    super(url);
    KillableWebSocket.live.add(this);
    this.on('close', () => KillableWebSocket.live.delete(this));
  }
}
