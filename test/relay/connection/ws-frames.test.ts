import type { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import {
  type Payload,
  payloadLength,
  wsFrames,
  wsHeaderLength,
} from '../../../relay/connection/ws-frames.js';

/** ws's frame parser (exported at run time, not in its types). */
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable;
};

describe('websocket frames written by the relay', () => {
  /** What a ws client reads from `wire`, split across writes at awkward places as TCP may deliver it. */
  async function readBack(wire: Uint8Array): Promise<Buffer[]> {
    const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
    const got: Buffer[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(true);
      got.push(data);
    });
    await new Promise<void>((resolve, reject) => {
      receiver.on('error', reject);
      receiver.write(wire.subarray(0, 3));
      receiver.write(wire.subarray(3, 200));
      receiver.write(wire.subarray(200), () => resolve());
    });
    return got;
  }

  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, j) => (seed * 31 + j) & 0xff);

  it('are read back by a ws client, in order and byte-exact, at every length encoding', async () => {
    const lengths = [0, 1, 125, 126, 65_535, 65_536, 70_000];
    const payloads = lengths.map((n, i) => bytes(n, i));
    const total = payloads.reduce((sum, p) => sum + wsHeaderLength(p.length) + p.length, 0);
    const chunks = wsFrames(payloads, total);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.length).toBe(total);
    const got = await readBack(chunks[0]!);
    expect(got.map((b) => b.length)).toEqual(lengths);
    expect(got.every((b, i) => b.equals(payloads[i]!))).toBe(true);
  });

  it('leave a body given in parts uncopied, beside the frames around it, and still read back whole', async () => {
    const large = bytes(65_536, 7);
    const payloads: Payload[] = [
      bytes(40, 1),
      [bytes(30, 2), large],
      [bytes(20, 3), bytes(200, 4)],
      bytes(5, 5),
      [bytes(2, 6), new Uint8Array(0)],
    ];
    const total = payloads.reduce(
      (sum: number, p) => sum + wsHeaderLength(payloadLength(p)) + payloadLength(p),
      0,
    );
    const chunks = wsFrames(payloads, total);
    // A buffer before each body in parts, the body itself, and the rest after the last one.
    expect(chunks.map((c) => c.length)).toEqual([2 + 40 + 10 + 30, 65_536, 4 + 20, 200, 2 + 5 + 2 + 2, 0]);
    expect(chunks[1]!.buffer).toBe(large.buffer);
    expect(chunks.reduce((sum, c) => sum + c.length, 0)).toBe(total);
    const got = await readBack(Buffer.concat(chunks));
    const whole = payloads.map((p) => Buffer.from(p instanceof Uint8Array ? p : Buffer.concat(p)));
    expect(got.map((b) => b.length)).toEqual(whole.map((b) => b.length));
    expect(got.every((b, i) => b.equals(whole[i]!))).toBe(true);
  });

  it('counts 2, 4 or 10 header bytes by payload length', () => {
    expect([0, 125, 126, 65_535, 65_536].map(wsHeaderLength)).toEqual([2, 2, 4, 4, 10]);
  });
});
