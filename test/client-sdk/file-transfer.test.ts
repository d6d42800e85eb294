import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileAssembler, FileSender, type OutgoingChunk, parseChunk } from '../../client-sdk/file-transfer.js';

beforeAll(async () => {
  await sodium.ready;
});

function prepare(size: number, chunkBytes = 1000) {
  const data = sodium.randombytes_buf(size);
  const sender = new FileSender(data, { name: 'photo.jpg', type: 'image/jpeg' }, chunkBytes);
  const chunks: OutgoingChunk[] = [];
  while (!sender.done) chunks.push(sender.next());
  return { data, offer: sender.offer, chunks, assembler: new FileAssembler(sender.offer) };
}

function feed(assembler: FileAssembler, chunk: OutgoingChunk) {
  const parsed = parseChunk(chunk.body)!;
  expect(parsed.index).toBe(chunk.index);
  return assembler.accept(parsed.index, parsed.ct);
}

describe('file transfer', () => {
  it('reassembles every byte of a file split into chunks', () => {
    const { data, offer, chunks, assembler } = prepare(10_500);
    expect(offer.chunks).toBe(11);
    expect(chunks.every((c) => c.body.length <= 1000 + 38)).toBe(true);
    for (const c of chunks) expect(feed(assembler, c).status).toBe('accepted');
    expect(assembler.complete).toBe(true);
    expect(assembler.bytes).toEqual(data);
  });

  it('handles an empty file and a file of exactly one chunk', () => {
    for (const size of [0, 1000]) {
      const { data, chunks, assembler } = prepare(size);
      expect(chunks).toHaveLength(1);
      expect(feed(assembler, chunks[0]!)).toMatchObject({ status: 'accepted', complete: true });
      expect(assembler.bytes).toEqual(data);
    }
  });

  it('waits for chunks that arrive out of order and still verifies them in order', () => {
    const { data, chunks, assembler } = prepare(5000);
    const order = [2, 0, 4, 1, 3];
    const results = order.map((i) => feed(assembler, chunks[i]!));
    expect(results.map((r) => (r.status === 'accepted' ? r.received : -1))).toEqual([
      0, 1000, 1000, 3000, 5000,
    ]);
    expect(assembler.bytes).toEqual(data);
  });

  it('drops a redelivered chunk as a duplicate without letting it touch the file', () => {
    const { data, chunks, assembler } = prepare(3000);
    feed(assembler, chunks[0]!);
    expect(feed(assembler, chunks[0]!).status).toBe('duplicate');
    feed(assembler, chunks[2]!);
    expect(feed(assembler, chunks[2]!).status).toBe('duplicate');
    feed(assembler, chunks[1]!);
    expect(assembler.complete).toBe(true);
    expect(assembler.bytes).toEqual(data);
  });

  it('tells other ciphertext under a taken index by its tag and length, and never lets it touch the file', () => {
    const { data, chunks, assembler } = prepare(3000);
    feed(assembler, chunks[0]!);
    const ct = parseChunk(chunks[0]!.body)!.ct;
    const otherTag = ct.slice();
    otherTag[otherTag.length - 1]! ^= 1;
    expect(assembler.accept(0, otherTag).status).toBe('replayed');
    expect(assembler.accept(0, ct.subarray(0, ct.length - 1)).status).toBe('replayed');
    // Altered before its tag: only a holder of the stream key could make that tag fit such bytes,
    // and it is dropped as a redelivery all the same (CRYPTO.md, "Files").
    const otherBody = ct.slice();
    otherBody[1]! ^= 1;
    expect(assembler.accept(0, otherBody).status).toBe('duplicate');
    feed(assembler, chunks[1]!);
    feed(assembler, chunks[2]!);
    expect(assembler.complete).toBe(true);
    expect(assembler.bytes).toEqual(data);
  });

  it('tells a replay (other content for an index already taken) from a redelivery', () => {
    const { data, chunks, assembler } = prepare(3000);
    feed(assembler, chunks[0]!);
    feed(assembler, chunks[2]!); // waits for chunk 1
    const second = parseChunk(chunks[1]!.body)!.ct;
    expect(assembler.accept(0, second).status).toBe('replayed'); // decrypted already
    expect(assembler.accept(2, second).status).toBe('replayed'); // still waiting
    feed(assembler, chunks[1]!);
    expect(assembler.complete).toBe(true);
    expect(assembler.bytes).toEqual(data);
  });

  it('detects a chunk swapped into another position', () => {
    const { chunks, assembler } = prepare(3000);
    feed(assembler, chunks[0]!);
    const second = parseChunk(chunks[2]!.body)!;
    const result = assembler.accept(1, second.ct);
    expect(result).toMatchObject({ status: 'failed', error: { code: 'file_corrupt' } });
    expect(assembler.complete).toBe(false);
  });

  it('detects a flipped bit in a chunk', () => {
    const { chunks, assembler } = prepare(3000);
    const body = chunks[0]!.body.slice();
    body[body.length - 5]! ^= 1;
    const parsed = parseChunk(body)!;
    expect(assembler.accept(parsed.index, parsed.ct)).toMatchObject({
      status: 'failed',
      error: { code: 'file_corrupt' },
    });
  });

  it('detects a missing chunk once too many wait behind it', () => {
    const { offer, chunks } = prepare(20_000);
    const assembler = new FileAssembler(offer, 4);
    const results = [0, 2, 3, 4, 5, 6].map((i) => feed(assembler, chunks[i]!));
    expect(results.at(-1)).toMatchObject({ status: 'failed', error: { code: 'file_incomplete' } });
    expect(assembler.error?.message).toContain('chunk 1 is missing');
  });

  it('reports a truncated transfer that never reaches its final chunk', () => {
    const { chunks, assembler } = prepare(3000);
    feed(assembler, chunks[0]!);
    feed(assembler, chunks[1]!);
    expect(assembler.complete).toBe(false);
    expect(assembler.abandon().code).toBe('file_incomplete');
    expect(feed(assembler, chunks[2]!).status).toBe('failed');
  });

  it('detects a stream cut short by an offer that announces more chunks', () => {
    const { offer, chunks } = prepare(2000);
    const longer = new FileAssembler({ ...offer, size: 3000, chunks: 3 });
    feed(longer, chunks[0]!);
    expect(feed(longer, chunks[1]!)).toMatchObject({ status: 'failed', error: { code: 'file_incomplete' } });
  });

  it('refuses a chunk index beyond the announced count', () => {
    const { chunks, assembler } = prepare(2000);
    const parsed = parseChunk(chunks[1]!.body)!;
    expect(assembler.accept(7, parsed.ct)).toMatchObject({
      status: 'failed',
      error: { code: 'file_corrupt' },
    });
  });

  it('refuses chunks of another file under the same offer', () => {
    const one = prepare(2000);
    const other = prepare(2000);
    expect(feed(one.assembler, other.chunks[0]!)).toMatchObject({ status: 'failed' });
  });
});
