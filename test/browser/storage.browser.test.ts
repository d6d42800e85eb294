import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type * as Sdk from '../../client-sdk/index.js';
import { createClient, createIdentity, type PassbyClient } from '../../client-sdk/index.js';
import { useRelay } from '../support/relay-fixture.js';
import { type BrowserPage, bundleSdk, openSdkPage } from './chromium.js';

/*
 * createIndexedDbStorage in headless Chromium (issue 15, item 7): a real IndexedDB, the SDK's state
 * in it across a reload, and a 5 MB photo received (its chunks kept there meanwhile), which
 * overflows localStorage's 5 MB.
 */

type PassbyWindow = { passby: typeof Sdk; errors: string[]; client?: Sdk.PassbyClient };

const fixture = useRelay();
let browser: BrowserPage;
let node: PassbyClient;
let bundle: string;

beforeAll(async () => {
  bundle = await bundleSdk();
  browser = await openSdkPage(bundle);
  node = await createClient({ url: fixture.relay.url, identity: await createIdentity(), WebSocket });
  await node.ready({ timeoutMs: 10_000 });
}, 60_000);

afterAll(async () => {
  await node?.close();
  await browser?.close();
});

describe('IndexedDB storage in Chromium', () => {
  it('keeps values across a reopen and lists them by prefix', async () => {
    const result = await browser.page.evaluate(async () => {
      const { createIndexedDbStorage } = (window as unknown as PassbyWindow).passby;
      const first = await createIndexedDbStorage({ name: 'kv-test' });
      await first.set('outbox/000000000001/a', 'one');
      await first.set('outbox/000000000002/b', 'two');
      await first.set('seen/x', 'three');
      await first.delete('outbox/000000000002/b');
      first.close();
      const again = await createIndexedDbStorage({ name: 'kv-test' });
      const out = {
        outbox: await again.keys('outbox/'),
        all: (await again.keys('')).sort(),
        one: await again.get('outbox/000000000001/a'),
        gone: (await again.get('outbox/000000000002/b')) ?? null,
      };
      again.close();
      return out;
    });
    expect(result).toEqual({
      outbox: ['outbox/000000000001/a'],
      all: ['outbox/000000000001/a', 'seen/x'],
      one: 'one',
      gone: null,
    });
  });

  it('receives a 5 MB photo from a Node client with its state in IndexedDB, without a storage error', async () => {
    const photo = new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 31 + 7) & 255);
    const browserId = await browser.page.evaluate(async (url) => {
      const w = window as unknown as PassbyWindow & { got: Promise<{ size: number; sha256: string }> };
      const { createClient, createIdentity, createIndexedDbStorage } = w.passby;
      const storage = await createIndexedDbStorage({ name: 'photo-test' });
      const client = await createClient({ url, identity: await createIdentity(), storage });
      w.errors = [];
      client.on('error', ({ error }) => {
        w.errors.push(`${error.code}: ${error.message}`);
      });
      w.got = new Promise((resolve) => {
        client.on('file', async (f) => {
          const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', f.bytes.slice()));
          resolve({ size: f.size, sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') });
        });
      });
      w.client = client;
      await client.ready({ timeoutMs: 10_000 });
      return client.id;
    }, fixture.relay.url);
    await node.sendFile(browserId, photo, { name: 'photo.jpg', type: 'image/jpeg' });
    const got = await browser.page.evaluate(() => (window as unknown as { got: Promise<unknown> }).got);
    expect(got).toEqual({ size: photo.length, sha256: createHash('sha256').update(photo).digest('hex') });
    expect(await browser.page.evaluate(() => (window as unknown as PassbyWindow).errors)).toEqual([]);
    await browser.page.evaluate(() => (window as unknown as PassbyWindow).client?.close());
  });

  it('resumes a send from its IndexedDB outbox after the page reloads', async () => {
    const identity = await createIdentity();
    const exported = identity.export();
    const queued = await browser.page.evaluate(
      async ([text, to]) => {
        const { createClient, createIndexedDbStorage, importIdentity } = (window as unknown as PassbyWindow)
          .passby;
        const storage = await createIndexedDbStorage({ name: 'outbox-test' });
        const client = await createClient({
          url: 'ws://127.0.0.1:9/',
          identity: await importIdentity(text),
          storage,
          autoConnect: false,
        });
        void client.send(to, 'written before the reload').catch(() => undefined);
        // The send reaches the outbox (and IndexedDB) after sealing; a bounded wait for it.
        for (let i = 0; client.outbox.size === 0 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
        await client.close();
        storage.close();
        return client.outbox.size;
      },
      [exported, node.id] as const,
    );
    expect(queued).toBe(1);
    await browser.page.reload();
    const got = node.once('message', { timeoutMs: 10_000 });
    await browser.page.evaluate(
      async ([text, url]) => {
        const { createClient, createIndexedDbStorage, importIdentity } = (window as unknown as PassbyWindow)
          .passby;
        const storage = await createIndexedDbStorage({ name: 'outbox-test' });
        const client = await createClient({ url, identity: await importIdentity(text), storage });
        (window as unknown as PassbyWindow).client = client;
        await client.once('sent', { timeoutMs: 10_000 });
        await client.close();
      },
      [exported, fixture.relay.url] as const,
    );
    expect(await got).toMatchObject({ from: identity.id, kind: 'text', text: 'written before the reload' });
  });
});
