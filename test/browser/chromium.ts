import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const ROOT = new URL('../../', import.meta.url);

/** The SDK bundled for browsers, exactly as an app's bundler would: esbuild, ESM, platform browser. */
export async function bundleSdk(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('client-sdk/index.ts', ROOT).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

export interface BrowserPage {
  page: Page;
  /** Where the page came from: a loopback HTTP server with the page and the bundle. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Debian's headless Chromium, driven by playwright-core (no browser download), with a fresh profile,
 * showing a page that loads the bundle as `window.passby`. Only loopback addresses are used.
 */
export async function openSdkPage(bundle: string): Promise<BrowserPage> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        '<!doctype html><title>passby</title><script type="module">' +
          "import * as passby from '/sdk.js'; window.passby = passby; document.title = 'ready';</script>",
      );
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = await mkdtemp(join(tmpdir(), 'passby-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // goto resolves on the load event, which waits for the module script and its import.
    await page.goto(`${origin}/`);
    if ((await page.title()) !== 'ready') throw new Error('the SDK bundle did not load in Chromium');
    const ctx = context;
    return {
      page,
      origin,
      async close() {
        await ctx.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await context?.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}
