import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import sodium from 'libsodium-wrappers';
import { authMessage, decodeRelayFrame, encodeFrame, toBase64url } from '../../protocol/index.js';
import type { Identity } from './raw-client.js';

/**
 * A WebSocket client on a bare TCP socket, for tests that need control the ws library does not
 * give: reading can be stopped for real (ws resumes a paused socket by itself). Speaks just enough
 * of RFC 6455: the upgrade, masked binary frames out, unmasked frames in.
 */
export class RawSocket {
  private buffer = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | undefined;
  ended = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async open(port: number): Promise<RawSocket> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const head = await new Promise<Buffer>((resolve) => {
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        const end = seen.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.unshift(seen.subarray(end + 4));
        resolve(seen.subarray(0, end));
      };
      socket.on('data', onData);
    });
    if (!head.toString().startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head}`);
    return new RawSocket(socket);
  }

  send(payload: Uint8Array): void {
    const mask = randomBytes(4);
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x82, 0x80 | length])
        : length < 65_536
          ? Buffer.from([0x82, 0x80 | 126, length >> 8, length & 255])
          : Buffer.concat([Buffer.from([0x82, 0x80 | 127]), bigLength(length)]);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** hello (version 1) and auth as `identity`, up to the relay's welcome. */
  async login(identity: Identity, relayId = 'passby'): Promise<void> {
    this.send(encodeFrame({ t: 'hello', versions: [1] }));
    const challenge = decodeRelayFrame(await this.next());
    if (!challenge.ok || challenge.frame.t !== 'challenge') throw new Error('no challenge');
    const ts = Date.now();
    const message = authMessage(relayId, challenge.frame.nonce, ts, identity.pk);
    const sig = toBase64url(sodium.crypto_sign_detached(message, identity.privateKey));
    this.send(encodeFrame({ t: 'auth', pk: identity.pk, ts, sig }));
    const welcome = decodeRelayFrame(await this.next());
    if (!welcome.ok || welcome.frame.t !== 'welcome') throw new Error('no welcome');
  }

  /** Next binary message from the server. */
  async next(): Promise<Buffer> {
    for (;;) {
      const message = this.messages.shift();
      if (message) return message;
      if (this.ended || this.closeCode !== undefined) throw new Error(`closed (${this.closeCode})`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Reads (and drops) messages until the server's close frame; returns its code. */
  async closed(): Promise<number | undefined> {
    this.messages.length = 0;
    while (this.closeCode === undefined && !this.ended) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.messages.length = 0;
    }
    return this.closeCode;
  }

  private parse(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = this.buffer[0]! & 0x0f;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === 0x8) this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      else if (opcode === 0x2) this.messages.push(Buffer.from(payload));
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
