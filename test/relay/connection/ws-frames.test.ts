import type { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { wsFrames, wsHeaderLength } from '../../../relay/connection/ws-frames.js';

/** ws's frame parser (exported at run time, not in its types). */
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable;
};

describe('websocket frames written by the relay', () => {
  it('are read back by a ws client, in order and byte-exact, at every length encoding', async () => {
    const lengths = [0, 1, 125, 126, 65_535, 65_536, 70_000];
    const payloads = lengths.map((n, i) => Uint8Array.from({ length: n }, (_, j) => (i * 31 + j) & 0xff));
    const total = payloads.reduce((sum, p) => sum + wsHeaderLength(p.length) + p.length, 0);
    const wire = wsFrames(payloads, total);
    expect(wire.length).toBe(total);

    const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
    const got: Buffer[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(true);
      got.push(data);
    });
    // Split across writes at awkward places, as TCP may deliver it.
    await new Promise<void>((resolve, reject) => {
      receiver.on('error', reject);
      receiver.write(wire.subarray(0, 3));
      receiver.write(wire.subarray(3, 200));
      receiver.write(wire.subarray(200), () => resolve());
    });
    expect(got.map((b) => b.length)).toEqual(lengths);
    expect(got.every((b, i) => b.equals(payloads[i]!))).toBe(true);
  });

  it('counts 2, 4 or 10 header bytes by payload length', () => {
    expect([0, 125, 126, 65_535, 65_536].map(wsHeaderLength)).toEqual([2, 2, 4, 4, 10]);
  });
});
