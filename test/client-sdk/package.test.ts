import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createClient,
  createIdentity,
  type IncomingMessage,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { type BrowserPage, openSdkPage } from '../browser/chromium.js';
import { exampleUnder, substitute } from '../support/readme-blocks.js';
import { useRelay } from '../support/relay-fixture.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SDK = join(ROOT, 'client-sdk');
const README = join(SDK, 'README.md');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The versions the repository pins, so the fresh app installs what the lock already holds. */
const rootPackage = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const pin = (name: string) =>
  `${name}@${rootPackage.dependencies[name] ?? rootPackage.devDependencies[name]}`;

/** An app's strictest usual settings: NodeNext, and optional properties that must not be undefined. */
const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
  },
  include: ['*.ts'],
};

const fixture = useRelay();
let app: string;
let tarball: { filename: string; files: { path: string }[] };
let friend: PassbyClient;

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'passby-app-'));
  await rm(join(SDK, 'dist'), { recursive: true, force: true });
  await run(process.execPath, [TSC, '-p', join(SDK, 'tsconfig.build.json')], { cwd: SDK });
  const packed = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app], {
    cwd: SDK,
  });
  tarball = (JSON.parse(packed.stdout) as (typeof tarball)[])[0]!;
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      join(app, tarball.filename),
      pin('ws'),
      pin('@types/ws'),
      pin('@types/node'),
    ],
    { cwd: app },
  );
  friend = await createClient({ url: fixture.relay.url, identity: await createIdentity(), WebSocket });
}, 120_000);

afterAll(async () => {
  await friend?.close();
  if (app) await rm(app, { recursive: true, force: true });
});

/** The README's quick start as an app file: the relay and the friend are the test's. */
function quickStart(): string {
  const code = exampleUnder(README, 'Quick start');
  const local = substitute(code, "'wss://relay.example.org/'", "process.env.RELAY_URL ?? ''");
  return `const friendId = process.env.FRIEND_ID ?? '';\n${local}`;
}

describe('the SDK as an npm package', () => {
  it('packs built JavaScript and declarations only, with an exports map and no side effects', async () => {
    const files = tarball.files.map((f) => f.path);
    expect(files).toContain('dist/client-sdk/index.js');
    expect(files).toContain('dist/client-sdk/index.d.ts');
    expect(files).toContain('dist/protocol/index.js');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    const manifest = JSON.parse(
      await readFile(join(app, 'node_modules/@passby/client/package.json'), 'utf8'),
    );
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.exports['.']).toEqual({
      types: './dist/client-sdk/index.d.ts',
      import: './dist/client-sdk/index.js',
    });
    expect(Object.keys(manifest.dependencies).sort()).toEqual(['h3-js', 'libsodium-wrappers']);
  });

  it('runs the README quick start with plain node in an app outside the repository', async () => {
    await writeFile(join(app, 'quickstart.mjs'), quickStart());
    const got = new Promise<IncomingMessage>((resolve) => friend.on('message', resolve));
    const { stdout } = await run(process.execPath, ['quickstart.mjs'], {
      cwd: app,
      env: { ...process.env, RELAY_URL: fixture.relay.url, FRIEND_ID: friend.id },
      timeout: 30_000,
    });
    const id = /tell your friends my ID: (\S+)/.exec(stdout)?.[1];
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(await got).toMatchObject({ from: id, kind: 'text', text: 'hello from passby' });
  });

  it('type-checks the README quick start with tsc, NodeNext and exactOptionalPropertyTypes', async () => {
    await writeFile(join(app, 'quickstart.ts'), quickStart());
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(APP_TSCONFIG));
    const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app }).then(
      () => '',
      (err: { stdout: string }) => err.stdout,
    );
    expect(result).toBe('');
  });

  it('bundles for the browser with esbuild and talks to a Node client from Chromium', async () => {
    await writeFile(
      join(app, 'browser.js'),
      "export { createClient, createIdentity } from '@passby/client';\n",
    );
    const result = await build({
      entryPoints: [join(app, 'browser.js')],
      absWorkingDir: app,
      bundle: true,
      minify: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      logLevel: 'silent',
    });
    const bundle = result.outputFiles[0]!.text;
    const gzipped = gzipSync(bundle).length;
    process.stdout.write(`browser bundle: ${bundle.length} bytes, ${gzipped} gzipped\n`);
    expect(gzipped).toBeLessThan(240 * 1024);
    const browser: BrowserPage = await openSdkPage(bundle);
    try {
      const got = new Promise<IncomingMessage>((resolve) => friend.on('message', resolve));
      const id = await browser.page.evaluate(
        async ([url, to]) => {
          const client = await window.passby.createClient({
            url,
            identity: await window.passby.createIdentity(),
          });
          await client.send(to, 'hello from the bundle');
          await client.close();
          return client.id;
        },
        [fixture.relay.url, friend.id] as const,
      );
      expect(await got).toMatchObject({ from: id, text: 'hello from the bundle' });
    } finally {
      await browser.close();
    }
  });
});
