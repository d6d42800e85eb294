import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type * as Sdk from '../../client-sdk/index.js';
import { createClient, createIdentity, type PassbyClient } from '../../client-sdk/index.js';
import { useRelay } from '../support/relay-fixture.js';
import { type BrowserPage, bundleSdk, openSdkPage } from './chromium.js';

declare global {
  interface Window {
    passby: typeof Sdk;
    client: Sdk.PassbyClient;
    inbox: { text: string[]; files: { name: string; size: number; sha256: string }[] };
    /** Resolves once the inbox holds `count` entries of `kind`, from the handlers (no polling). */
    until(kind: 'text' | 'files', count: number): Promise<void>;
  }
}

const fixture = useRelay();
let browser: BrowserPage;
let node: PassbyClient;
let browserId: string;

const pattern = (size: number) => new Uint8Array(size).map((_, i) => (i * 131 + 17) & 255);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  browser = await openSdkPage(await bundleSdk());
  node = await createClient({ url: fixture.relay.url, identity: await createIdentity(), WebSocket });
  await node.once('open');
  browserId = await browser.page.evaluate(async (url) => {
    const { createClient, createIdentity } = window.passby;
    // No WebSocket option: the browser's own global WebSocket is used.
    const client = await createClient({ url, identity: await createIdentity() });
    window.client = client;
    window.inbox = { text: [], files: [] };
    const waiters: { done(): boolean; resolve(): void }[] = [];
    const changed = () => {
      for (const w of waiters.filter((x) => x.done())) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    };
    window.until = (kind, count) =>
      new Promise<void>((resolve) => {
        waiters.push({ done: () => window.inbox[kind].length >= count, resolve });
        changed();
      });
    client.on('message', (m) => {
      if (m.kind === 'text') window.inbox.text.push(`${m.from}:${m.text}`);
      changed();
    });
    client.on('file', async (f) => {
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', f.bytes.slice()));
      const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
      window.inbox.files.push({ name: f.name, size: f.size, sha256: hex });
      changed();
    });
    if (client.state.kind !== 'open') await client.once('open');
    return client.id;
  }, fixture.relay.url);
}, 60_000);

afterAll(async () => {
  await node?.close();
  await browser?.page.evaluate(() => window.client?.close()).catch(() => undefined);
  await browser?.close();
});

describe('the SDK bundled and running in headless Chromium', () => {
  it('receives an end-to-end encrypted message from a Node client', async () => {
    await node.send(browserId, 'hello browser');
    await browser.page.evaluate(() => window.until('text', 1));
    expect(await browser.page.evaluate(() => window.inbox.text)).toEqual([`${node.id}:hello browser`]);
  });

  it('sends an end-to-end encrypted message to a Node client', async () => {
    const got = node.once('message');
    const mid = await browser.page.evaluate(
      (to) => window.client.send(to, 'hello node').then((s) => s.mid),
      node.id,
    );
    expect(await got).toMatchObject({ from: browserId, mid, kind: 'text', text: 'hello node' });
  });

  it('receives a file from a Node client, every byte verified', async () => {
    const data = pattern(200_000);
    await node.sendFile(browserId, data, { name: 'from-node.bin' });
    await browser.page.evaluate(() => window.until('files', 1));
    expect(await browser.page.evaluate(() => window.inbox.files)).toEqual([
      { name: 'from-node.bin', size: 200_000, sha256: sha256(data) },
    ]);
  });

  it('sends a file to a Node client, every byte verified', async () => {
    const got = node.once('file');
    const sent = await browser.page.evaluate(async (to) => {
      const data = new Uint8Array(200_000).map((_, i) => (i * 131 + 17) & 255);
      return window.client.sendFile(to, data, { name: 'from-browser.bin', type: 'application/octet-stream' });
    }, node.id);
    const file = await got;
    expect(file).toMatchObject({
      from: browserId,
      fileId: sent.fileId,
      name: 'from-browser.bin',
      size: 200_000,
    });
    expect(sha256(file.bytes)).toBe(sha256(pattern(200_000)));
  });
});
