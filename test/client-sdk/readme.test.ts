import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type ClientOptions,
  createClient,
  createIdentity,
  type Identity,
  type IncomingFile,
  type IncomingMessage,
  MemoryStorage,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { codeBlocks, exampleUnder, substitute } from '../support/readme-blocks.js';
import { useRelay } from '../support/relay-fixture.js';

/*
 * Runs the examples of client-sdk/README.md, read from the README itself (issue 15): each `ts`
 * block becomes a module that imports the SDK's source for '@passby/client', gets the app's own
 * objects (ui, db, log, a friend's ID ...) from the test, and talks to a real relay. The quick
 * start is run from the packed and installed package instead (package.test.ts).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = join(ROOT, 'client-sdk/README.md');
const SDK = join(ROOT, 'client-sdk/index.ts');
const OUT = join(ROOT, '.tmp/readme');
/** The README's relay: its examples name it, so the test relay is configured with the same ID. */
const RELAY_ID = 'relay.example.org';

const fixture = useRelay({ relayId: RELAY_ID, presenceIntervalMs: 0 });
const clients: PassbyClient[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'passby-readme-'));
  await mkdir(OUT, { recursive: true });
});

afterAll(async () => {
  for (const c of clients.splice(0)) await c.close();
  await rm(dir, { recursive: true, force: true });
});

/** Records every call on it: `ui.markSent(mid)` becomes ['markSent', mid]. */
function recorder(): { calls: unknown[][]; proxy: Record<string, (...args: unknown[]) => void> } {
  const calls: unknown[][] = [];
  const proxy = new Proxy({} as Record<string, (...args: unknown[]) => void>, {
    get:
      (_, name) =>
      (...args: unknown[]) => {
        calls.push([String(name), ...args]);
      },
  });
  return { calls, proxy };
}

async function connected(identity?: Identity, extra: Partial<ClientOptions> = {}): Promise<PassbyClient> {
  const c = await createClient({
    url: fixture.relay.url,
    relayId: RELAY_ID,
    identity: identity ?? (await createIdentity()),
    WebSocket,
    presenceIntervalMs: 0,
    ...extra,
  });
  clients.push(c);
  await c.ready({ timeoutMs: 10_000 });
  return c;
}

/** Two users made friends through the relay. */
async function befriend(a: PassbyClient, b: PassbyClient): Promise<void> {
  const accepted = a.once('friend', { timeoutMs: 10_000 });
  await a.friends.request(b.id);
  await b.friends.accept(a.id);
  await accepted;
}

/**
 * The block as a module: '@passby/client' is the SDK's source, `names` come from the test's
 * `globalThis.readme`, and `exports` are handed back (a block's own client, to close it).
 */
async function run(
  name: string,
  code: string,
  given: Record<string, unknown>,
  exports: string[] = [],
): Promise<Record<string, unknown>> {
  const names = Object.keys(given);
  const imports = code.includes("from '@passby/client'")
    ? substitute(code, "from '@passby/client'", `from ${JSON.stringify(SDK)}`)
    : code;
  const source = [
    // Imports are hoisted, so the app's own objects may come first.
    names.length > 0 ? `const { ${names.join(', ')} } = globalThis.readme;` : '',
    imports,
    exports.length > 0 ? `export { ${exports.join(', ')} };` : '',
  ].join('\n');
  const file = join(OUT, `${name}.ts`);
  await writeFile(file, source);
  (globalThis as { readme?: unknown }).readme = given;
  try {
    return (await import(`${pathToFileURL(file).href}?${Date.now()}`)) as Record<string, unknown>;
  } finally {
    delete (globalThis as { readme?: unknown }).readme;
  }
}

const HEADINGS = [
  'Quick start',
  'A complete app flow',
  'Friends, proximity and contacts (protocol v2)',
  'Shares as offers (protocol v2)',
  'Devices, export and erase (protocol v4)',
];

describe('the README examples', () => {
  it('are all run: by this file, or the quick start by package.test.ts', () => {
    const ts = codeBlocks(README).filter((b) => b.lang === 'ts');
    expect(ts.map((b) => b.heading)).toEqual(HEADINGS);
  });

  it('runs "A complete app flow": a message and a photo reach a friend, with a receipt', async () => {
    const friend = await connected();
    const messages: IncomingMessage[] = [];
    const files: IncomingFile[] = [];
    friend.on('message', (m) => {
      messages.push(m);
    });
    const gotFile = new Promise<void>((resolve) => {
      friend.on('file', (f) => {
        files.push(f);
        resolve();
      });
    });
    const photoPath = join(dir, 'beach.jpg');
    const photo = new Uint8Array(150_000).map((_, i) => (i * 13) & 255);
    await writeFile(photoPath, photo);
    const ui = recorder();
    const db = recorder();
    const log = recorder();
    let code = exampleUnder(README, 'A complete app flow');
    code = substitute(code, "'/var/lib/myapp/passby'", JSON.stringify(dir));
    code = substitute(code, "'wss://relay.example.org/'", JSON.stringify(fixture.relay.url));
    code = substitute(code, "fs.readFile('beach.jpg')", `fs.readFile(${JSON.stringify(photoPath)})`);
    await run('app-flow', code, { ui: ui.proxy, db: db.proxy, log: log.proxy, friendId: friend.id });
    await gotFile;
    expect(messages).toMatchObject([{ kind: 'text', text: 'on my way' }]);
    expect(files).toMatchObject([{ name: 'beach.jpg', type: 'image/jpeg', size: photo.length }]);
    expect(ui.calls.filter((c) => c[0] === 'markSent')).toHaveLength(1);
    expect(ui.calls.filter((c) => c[0] === 'fail')).toEqual([]);
    expect(log.calls.filter((c) => c[0] === 'warn')).toEqual([]);
  });

  it('runs "Friends, proximity and contacts": a request accepted, consent set, a location shared', async () => {
    const identity = await createIdentity();
    const storage = new MemoryStorage();
    const me = await connected(identity, { storage });
    const friend = await connected();
    await befriend(me, friend);
    await me.close();
    const asker = await connected();
    const asked = await connected(identity, { storage });
    const incoming = asked.once('friend', { timeoutMs: 10_000 });
    await asker.friends.request(identity.id);
    await incoming;
    await asked.close();
    const ui = recorder();
    const log = recorder();
    const pos = { coords: { latitude: 52.52, longitude: 13.405, accuracy: 12 }, timestamp: Date.now() };
    const removed = friend.once('friend', { timeoutMs: 10_000 });
    const { client } = await run(
      'friends',
      exampleUnder(README, 'Friends, proximity and contacts (protocol v2)'),
      {
        url: fixture.relay.url,
        relayId: RELAY_ID,
        identity,
        storage,
        WebSocket,
        ui: ui.proxy,
        log: log.proxy,
        friendId: friend.id,
        someoneWhoAskedMe: asker.id,
        pos,
        fix: { latitude: 52.52, longitude: 13.405, accuracyMeters: 12, timestamp: Date.now() },
      },
      ['client', 'links', 'result'],
    ).then((m) => {
      clients.push(m.client as PassbyClient);
      return m;
    });
    expect(await removed).toMatchObject({ user: identity.id, state: 'removed' });
    const links = await (client as PassbyClient).friends.list();
    expect(links).toMatchObject([{ id: asker.id, state: 'friend' }]);
    expect(ui.calls.filter((c) => c[0] === 'fail' || c[0] === 'retryLater')).toEqual([]);
  });

  it('runs "Shares as offers": a photo offered, accepted by the friend, and pre-approval switched on', async () => {
    const client = await connected();
    const friend = await connected();
    await befriend(client, friend);
    friend.on('offer', async (offer) => {
      if (!offer.auto) await offer.accept();
    });
    const received = new Promise<IncomingFile>((resolve) => {
      friend.on('file', resolve);
    });
    const jpeg = new Uint8Array(90_000).map((_, i) => (i * 5) & 255);
    const ui = recorder();
    await run('shares', exampleUnder(README, 'Shares as offers (protocol v2)'), {
      client,
      friendId: friend.id,
      jpeg,
      thumbnailBytes: new Uint8Array([1, 2, 3]),
      ui: ui.proxy,
    });
    expect(await received).toMatchObject({ from: client.id, name: 'beach.jpg', size: jpeg.length });
    expect(await client.friends.list()).toMatchObject([{ id: friend.id, autoAccept: true, proximity: true }]);
  });

  it('runs "Devices, export and erase": a new device paired by an existing one, listed from both', async () => {
    const approver = await connected();
    const ui = recorder();
    let code = exampleUnder(README, 'Devices, export and erase (protocol v4)');
    // The example's user reads the code off the new device's screen; here it is handed over.
    code = substitute(code, 'approver.approveDevice(scannedText)', 'approver.approveDevice(pairing.payload)');
    const { client } = await run(
      'devices',
      code,
      {
        url: fixture.relay.url,
        relayId: RELAY_ID,
        storage: new MemoryStorage(),
        WebSocket,
        ui: ui.proxy,
        approver,
      },
      ['client'],
    );
    clients.push(client as PassbyClient);
    expect((client as PassbyClient).id).toBe(approver.id);
    expect(ui.calls.filter((c) => c[0] === 'device')).toHaveLength(2);
    expect(ui.calls.filter((c) => c[0] === 'linked')).toEqual([
      ['linked', (client as PassbyClient).deviceId],
    ]);
  });
});
