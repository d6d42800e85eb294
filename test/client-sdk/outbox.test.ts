import { describe, expect, it } from 'vitest';
import { ClientError, MemoryStorage } from '../../client-sdk/index.js';
import { Outbox } from '../../client-sdk/outbox.js';

const to = 'AAAAAAAAAAAAAAAAAAAAAA';
const entry = (mid: string, persist = true) => ({ to, mid, body: new Uint8Array([1, 2, 3]), persist });

describe('outbox', () => {
  it('keeps queued sends in storage and loads them back in order', async () => {
    const storage = new MemoryStorage();
    const one = new Outbox(storage, 10);
    for (const mid of ['a', 'b', 'c']) await one.add(entry(mid));
    await one.add(entry('file-chunk', false));
    const two = new Outbox(storage, 10);
    const loaded = await two.load();
    expect(loaded.map((e) => e.mid)).toEqual(['a', 'b', 'c']);
    expect(loaded[0]!.body).toEqual(new Uint8Array([1, 2, 3]));
    await two.add(entry('d'));
    expect(two.queued.map((e) => e.mid)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a send beyond its bound', async () => {
    const box = new Outbox(new MemoryStorage(), 2);
    await box.add(entry('a'));
    await box.add(entry('b'));
    await expect(box.add(entry('c'))).rejects.toMatchObject({ code: 'outbox_full' });
    await expect(box.add(entry('c'))).rejects.toBeInstanceOf(ClientError);
  });

  it('puts sends back in their original order when the connection drops', async () => {
    const box = new Outbox(new MemoryStorage(), 10);
    for (const mid of ['a', 'b', 'c', 'd']) await box.add(entry(mid));
    for (const e of [...box.queued.slice(0, 3)]) box.take(e);
    expect(box.queued.map((e) => e.mid)).toEqual(['d']);
    box.retry('b');
    expect(box.queued.map((e) => e.mid)).toEqual(['b', 'd']);
    box.retryAll();
    expect(box.queued.map((e) => e.mid)).toEqual(['a', 'b', 'c', 'd']);
    expect(box.inflight.size).toBe(0);
  });

  it('forgets a send once removed, in memory and in storage', async () => {
    const storage = new MemoryStorage();
    const box = new Outbox(storage, 10);
    await box.add(entry('a'));
    box.take(box.queued[0]!);
    await box.remove('a');
    expect(box.size).toBe(0);
    expect(await storage.keys('outbox/')).toEqual([]);
  });
});
