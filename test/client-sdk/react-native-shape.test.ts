import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type * as Sdk from '../../client-sdk/index.js';
import { SODIUM_CONSTANTS, SODIUM_FUNCTIONS } from '../../client-sdk/sodium.js';
import { useRelay } from '../support/relay-fixture.js';

/*
 * React Native, as far as it can be checked without a device (issue 15, item 9): the SDK bundled
 * the way Metro is told to (README, "React Native"), with `libsodium-wrappers` aliased to another
 * module, which here offers nothing but the functions and constants in SODIUM_FUNCTIONS and
 * SODIUM_CONSTANTS, as a native build would. Two such clients exchange a message and a file
 * through the real relay: the list is all the SDK needs at run time, not only in its source.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, '.tmp/react-native');
const fixture = useRelay();
let sdk: typeof Sdk;
const clients: Sdk.PassbyClient[] = [];

beforeAll(async () => {
  await mkdir(OUT, { recursive: true });
  const real = join(ROOT, 'node_modules/libsodium-wrappers/dist/modules-esm/libsodium-wrappers.mjs');
  const shim = join(OUT, 'native-sodium.mjs');
  await writeFile(
    shim,
    [
      `import real from ${JSON.stringify(real)};`,
      `const names = ${JSON.stringify([...SODIUM_FUNCTIONS, ...SODIUM_CONSTANTS])};`,
      'const native = { ready: real.ready.then(() => { for (const n of names) native[n] = real[n]; }) };',
      'export default native;',
    ].join('\n'),
  );
  const bundle = join(OUT, 'sdk.mjs');
  await build({
    entryPoints: [join(ROOT, 'client-sdk/index.ts')],
    bundle: true,
    format: 'esm',
    // Metro's resolution: the react-native and browser fields first (h3-js maps fs and path away).
    platform: 'browser',
    mainFields: ['react-native', 'browser', 'module', 'main'],
    alias: { 'libsodium-wrappers': shim },
    outfile: bundle,
    logLevel: 'silent',
  });
  sdk = (await import(pathToFileURL(bundle).href)) as typeof Sdk;
}, 60_000);

afterAll(async () => {
  for (const c of clients.splice(0)) await c.close();
});

describe('the SDK with a native libsodium that has only the listed functions', () => {
  it('exchanges a message and a file through the relay', async () => {
    const start = async () => {
      const c = await sdk.createClient({
        url: fixture.relay.url,
        identity: await sdk.createIdentity(),
        WebSocket,
      });
      clients.push(c);
      await c.ready({ timeoutMs: 10_000 });
      return c;
    };
    const [alice, bob] = [await start(), await start()];
    const message = bob.once('message', { timeoutMs: 10_000 });
    const file = bob.once('file', { timeoutMs: 10_000 });
    await alice.send(bob.id, 'from the phone');
    const data = new Uint8Array(150_000).map((_, i) => (i * 3) & 255);
    await alice.sendFile(bob.id, data, { name: 'clip.mp4', type: 'video/mp4' });
    expect(await message).toMatchObject({ from: alice.id, kind: 'text', text: 'from the phone' });
    const got = await file;
    expect(got).toMatchObject({ name: 'clip.mp4', size: data.length });
    expect(Buffer.from(got.bytes).equals(Buffer.from(data))).toBe(true);
  });
});
