import { beforeAll, describe, expect, it, vi } from 'vitest';
import { seal } from '../../client-sdk/envelope.js';
import { FileSender, type OutgoingChunk } from '../../client-sdk/file-transfer.js';
import { createIdentity, type Identity, type IncomingFile, MemoryStorage } from '../../client-sdk/index.js';
import { encodePayload, type FileOffer } from '../../client-sdk/payload.js';
import type { MessageFrame } from '../../protocol/index.js';
import { fakeClients } from './fake-clients.js';
import { FakeSocket } from './fake-socket.js';

/*
 * Incoming files against a relay played by hand, to reach what an honest relay never does (a
 * chunk injected, reordered or cut short) and the exact moments of each ack. with-relay-files.test.ts
 * runs the failure and restart paths against the real relay and Redis.
 */

let me: Identity;
let bob: Identity;

beforeAll(async () => {
  [me, bob] = await Promise.all([createIdentity(), createIdentity()]);
});

const { client, connect, answerKeys } = fakeClients(() => me);

/** A file from bob in chunks of 1000 bytes, as the frames the relay would deliver. */
function fileFromBob(size: number, announce: Partial<FileOffer> = {}) {
  const data = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 255);
  const sender = new FileSender(data, { name: 'photo.jpg', type: 'image/jpeg' }, 1000);
  const chunks: OutgoingChunk[] = [];
  while (!sender.done) chunks.push(sender.next());
  const offer = { ...sender.offer, ...announce };
  const body = seal(
    bob,
    me.boxPublicKey,
    { from: bob.id, to: me.id, mid: offer.fileId },
    encodePayload({ kind: 'file', offer }),
  );
  const frame = (mid: string, b: Uint8Array): MessageFrame => ({
    t: 'msg',
    id: `m:${bob.id}:${mid}`,
    from: bob.id,
    mid,
    ts: 1,
    exp: Date.now() + 60_000,
    body: b,
  });
  return {
    data,
    offer,
    offerFrame: frame(offer.fileId, body),
    chunk: (i: number) => frame(chunks[i]!.mid, chunks[i]!.body),
    /** Chunk `from`'s content under chunk `as`'s label: its index in the body and its mid. */
    relabelled: (from: number, as: number) => {
      const b = chunks[from]!.body.slice();
      new DataView(b.buffer).setUint32(17, as);
      return frame(chunks[as]!.mid, b);
    },
  };
}

const acked = (socket: FakeSocket) =>
  socket.sent.flatMap((f) => (f.t !== 'ack' ? [] : 'ids' in f ? f.ids : [f.id]));

describe('receiving a file', () => {
  it('keeps each chunk before acking it, and acks the offer and last chunk only after the handler', async () => {
    const storage = new MemoryStorage();
    const c = await client({ storage });
    let finish!: () => void;
    const handled = new Promise<void>((r) => {
      finish = r;
    });
    const got = new Promise<IncomingFile>((resolve) => {
      c.on('file', async (f) => {
        resolve(f);
        await handled;
      });
    });
    const socket = connect(c);
    const file = fileFromBob(2500);
    socket.receive(file.offerFrame);
    await answerKeys(socket, bob);
    const first = socket.next('ack');
    socket.receive(file.chunk(0));
    expect(await first).toEqual({ t: 'ack', id: file.chunk(0).id });
    expect(await storage.keys(`chunk/${bob.id}/${file.offer.fileId}/`)).toHaveLength(1);
    socket.receive(file.chunk(1));
    socket.receive(file.chunk(2));
    const f = await got;
    expect(f).toMatchObject({ from: bob.id, fileId: file.offer.fileId, name: 'photo.jpg', size: 2500 });
    expect(f.bytes).toEqual(file.data);
    expect(acked(socket)).toEqual([file.chunk(0).id, file.chunk(1).id]);
    const last = socket.next('ack', (a) => 'id' in a && a.id === file.chunk(2).id);
    finish();
    await last;
    expect(acked(socket)).toEqual([file.chunk(0).id, file.chunk(1).id, file.offerFrame.id, file.chunk(2).id]);
    await c.close();
    // Handled: nothing of it is kept any longer.
    expect(await storage.keys('chunk/')).toEqual([]);
    expect(await storage.keys('file/')).toEqual([]);
  });

  it('drops a redelivered chunk silently and hands the file over once', async () => {
    const c = await client();
    const files: IncomingFile[] = [];
    const problems: string[] = [];
    c.on('rejected', ({ error }) => {
      problems.push(error.code);
    });
    c.on('error', ({ error }) => {
      problems.push(error.code);
    });
    const done = new Promise<void>((resolve) => {
      c.on('file', (f) => {
        files.push(f);
        resolve();
      });
    });
    const socket = connect(c);
    const file = fileFromBob(2500);
    socket.receive(file.offerFrame);
    await answerKeys(socket, bob);
    for (const i of [0, 1, 0, 1, 2]) socket.receive(file.chunk(i));
    await done;
    const ack = socket.next('ack', (a) => 'id' in a && a.id === file.chunk(2).id);
    socket.receive(file.chunk(2));
    await ack;
    expect(files).toHaveLength(1);
    expect(files[0]!.bytes).toEqual(file.data);
    expect(problems).toEqual([]);
    expect(acked(socket).filter((id) => id === file.chunk(0).id)).toHaveLength(2);
  });

  it('reports a repeated chunk with other content (injected), keeps the genuine one and completes', async () => {
    const c = await client();
    const files = vi.fn();
    const done = new Promise<IncomingFile>((resolve) => {
      c.on('file', (f) => {
        files(f);
        resolve(f);
      });
    });
    const rejected = c.once('rejected');
    const socket = connect(c);
    const file = fileFromBob(3500);
    socket.receive(file.offerFrame);
    await answerKeys(socket, bob);
    socket.receive(file.chunk(0));
    socket.receive(file.chunk(1));
    const injected = file.relabelled(2, 1); // chunk 2's ciphertext, labelled chunk 1 again
    socket.receive(injected);
    expect(await rejected).toMatchObject({
      from: bob.id,
      mid: injected.mid,
      error: { code: 'tampered', message: expect.stringContaining('came again with other content') },
    });
    socket.receive(file.chunk(2));
    socket.receive(file.chunk(3));
    expect((await done).bytes).toEqual(file.data);
    expect(files).toHaveBeenCalledTimes(1);
  });

  it('reports a missing chunk once the transfer stops making progress', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = await client({ fileTimeoutMs: 30_000 });
    const files = vi.fn();
    c.on('file', files);
    const rejected = c.once('rejected');
    const socket = connect(c);
    const file = fileFromBob(3000);
    socket.receive(file.offerFrame);
    await answerKeys(socket, bob);
    const ack = socket.next('ack', (a) => 'id' in a && a.id === file.chunk(2).id);
    socket.receive(file.chunk(0));
    socket.receive(file.chunk(2)); // chunk 1 never comes
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await rejected).toMatchObject({
      mid: file.offer.fileId,
      error: { code: 'file_incomplete', message: expect.stringContaining('stopped at chunk 1') },
    });
    // Given up: the offer and the last chunk are acknowledged so that the relay drops them.
    await ack;
    expect(acked(socket)).toContain(file.offerFrame.id);
    expect(files).not.toHaveBeenCalled();
  });

  it('puts chunks delivered out of order back in order, and reports content that was reordered', async () => {
    const c = await client();
    const files: IncomingFile[] = [];
    const first = new Promise<void>((resolve) => {
      c.on('file', (f) => {
        files.push(f);
        resolve();
      });
    });
    const socket = connect(c);
    const honest = fileFromBob(3000);
    socket.receive(honest.offerFrame);
    await answerKeys(socket, bob);
    for (const i of [2, 0, 1]) socket.receive(honest.chunk(i));
    await first;
    expect(files[0]!.bytes).toEqual(honest.data);

    const swapped = fileFromBob(3000);
    const rejected = c.once('rejected');
    socket.receive(swapped.offerFrame);
    socket.receive(swapped.chunk(0));
    socket.receive(swapped.relabelled(2, 1)); // the stream's chunks 1 and 2 trade places
    socket.receive(swapped.relabelled(1, 2));
    expect(await rejected).toMatchObject({
      mid: swapped.offer.fileId,
      error: { code: 'file_corrupt', message: expect.stringContaining('chunk 1 failed authentication') },
    });
    expect(files).toHaveLength(1);
  });

  it('reports a truncated stream whose final chunk comes before the announced end', async () => {
    const c = await client();
    const files = vi.fn();
    c.on('file', files);
    const rejected = c.once('rejected');
    const socket = connect(c);
    // Two chunks on the wire, but the offer announces three.
    const file = fileFromBob(2000, { size: 3000, chunks: 3 });
    socket.receive(file.offerFrame);
    await answerKeys(socket, bob);
    socket.receive(file.chunk(0));
    socket.receive(file.chunk(1));
    expect(await rejected).toMatchObject({
      mid: file.offer.fileId,
      error: { code: 'file_incomplete', message: expect.stringContaining('the stream ended at chunk 1') },
    });
    expect(files).not.toHaveBeenCalled();
  });
});

describe('a file handler that fails', () => {
  it('gets the file again after a reconnect, completed from the kept chunks', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const c = await client();
    const good: IncomingFile[] = [];
    let calls = 0;
    const again = new Promise<void>((resolve) => {
      c.on('file', (f) => {
        if (++calls === 1) throw new Error('disk full');
        good.push(f);
        resolve();
      });
    });
    const failed = c.once('error');
    const s1 = connect(c);
    const file = fileFromBob(2500);
    s1.receive(file.offerFrame);
    await answerKeys(s1, bob);
    for (const i of [0, 1, 2]) s1.receive(file.chunk(i));
    expect(await failed).toMatchObject({ error: { code: 'handler_failed' }, mid: file.offer.fileId });
    expect(acked(s1)).toEqual([file.chunk(0).id, file.chunk(1).id]);
    // After a reconnect the relay delivers what is unacknowledged: the offer and the last chunk.
    s1.drop(1006);
    await vi.advanceTimersByTimeAsync(250);
    const s2 = FakeSocket.latest();
    s2.handshake(me.id);
    const last = s2.next('ack', (a) => 'id' in a && a.id === file.chunk(2).id);
    s2.receive(file.offerFrame);
    s2.receive(file.chunk(2));
    await again;
    await last;
    expect(good).toHaveLength(1);
    expect(good[0]!.bytes).toEqual(file.data);
    expect(acked(s2)).toEqual([file.offerFrame.id, file.chunk(2).id]);
  });

  it('leaves the file at the relay when no file handler is registered', async () => {
    const c = await client();
    const error = c.once('error');
    const socket = connect(c);
    const file = fileFromBob(1500);
    socket.receive(file.offerFrame);
    await answerKeys(socket, bob);
    socket.receive(file.chunk(0));
    socket.receive(file.chunk(1));
    expect(await error).toMatchObject({ error: { code: 'handler_failed' }, mid: file.offer.fileId });
    expect(acked(socket)).toEqual([file.chunk(0).id]);
  });
});

describe('a receiver that restarts mid-file', () => {
  it('completes the file in the next process from the chunks kept in storage', async () => {
    const storage = new MemoryStorage();
    const file = fileFromBob(3500);
    const one = await client({ storage });
    one.on('file', () => {
      throw new Error('the first process must not complete it');
    });
    const s1 = connect(one);
    const acks = s1.next('ack', (a) => 'id' in a && a.id === file.chunk(1).id);
    s1.receive(file.offerFrame);
    await answerKeys(s1, bob);
    s1.receive(file.chunk(0));
    s1.receive(file.chunk(1));
    await acks;
    await one.close();

    const two = await client({ storage });
    const got = two.once('file');
    const progress: number[] = [];
    two.on('progress', (p) => {
      progress.push(p.bytes);
    });
    const s2 = connect(two);
    s2.receive(file.offerFrame); // the offer is redelivered; chunks 0 and 1 are not
    // (bob's key was verified by the first process and is kept in storage: no request this time)
    s2.receive(file.chunk(2));
    s2.receive(file.chunk(3));
    expect((await got).bytes).toEqual(file.data);
    expect(progress).toEqual([2000, 3000, 3500]);
  });
});
