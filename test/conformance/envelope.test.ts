import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  createClient,
  createIdentity,
  type IncomingMessage,
  type IncomingOffer,
  type PassbyClient,
} from '../../client-sdk/index.js';
import { useRelay } from '../support/relay-fixture.js';
import {
  assembleFile,
  bytesPayload,
  chunkMid,
  fileOfferOf,
  open,
  seal,
  sharePayload,
  textPayload,
  verifiedBoxKey,
} from './envelope.js';
import { type Keys, makeKeys, request, WireClient } from './wire.js';

/*
 * client-sdk/CRYPTO.md's normative sections are enough to interoperate: a client built from
 * PROTOCOL.md (./wire.ts) and CRYPTO.md (./envelope.ts) alone, on libsodium directly, exchanges
 * messages, a file and a share with an SDK client through the real relay.
 */

const fixture = useRelay({ presenceIntervalMs: 0 });
const sdkClients: PassbyClient[] = [];
const wires: WireClient[] = [];

afterEach(async () => {
  const seen = rejected;
  rejected = [];
  expect(seen).toEqual([]);
  for (const c of sdkClients.splice(0)) await c.close();
  for (const w of wires.splice(0)) await w.close();
});

/** Every message an SDK client dropped as failing verification: the test fails on the first. */
let rejected: unknown[] = [];

async function sdkClient(): Promise<PassbyClient> {
  const client = await createClient({ url: fixture.relay.url, identity: await createIdentity(), WebSocket });
  client.on('rejected', (r) => {
    rejected.push(r);
  });
  sdkClients.push(client);
  if (client.state.kind !== 'open') await client.once('open');
  return client;
}

async function wireClient(keys: Keys): Promise<WireClient> {
  const { client } = await WireClient.login(fixture.relay.url, keys, [2, 1]);
  wires.push(client);
  await client.next('drained');
  return client;
}

/** `event`, or a failure as soon as the SDK rejects something instead. */
function orRejected<T>(sdk: PassbyClient, event: Promise<T>): Promise<T> {
  const refused = sdk.once('rejected').then((r) => {
    throw new Error(`the SDK rejected ${r.mid}: ${r.error.message}`);
  });
  return Promise.race([event, refused]);
}

/** "Public keys": the verified X25519 key of `id`, from the relay. */
async function boxKeyOf(wire: WireClient, id: string): Promise<Uint8Array> {
  wire.send({ t: 'keys', rid: 1, ids: [id] });
  const { header } = await wire.next('keys');
  return verifiedBoxKey(id, String((header.keys as Record<string, string>)[id]));
}

describe('client-sdk/CRYPTO.md: the envelope and payloads', () => {
  it('seals text and bytes that an SDK client opens, from the document alone', async () => {
    const keys = await makeKeys();
    const wire = await wireClient(keys);
    const sdk = await sdkClient();
    const received: IncomingMessage[] = [];
    sdk.on('message', (m) => {
      received.push(m);
    });
    const rKey = await boxKeyOf(wire, sdk.id);
    const sends: [string, Uint8Array][] = [
      ['doc-text', textPayload('hello from the document, ünïcödé')],
      ['doc-bytes', bytesPayload(new Uint8Array([0, 1, 2, 255]))],
    ];
    for (const [mid, payload] of sends) {
      wire.send(
        { t: 'send', to: sdk.id, mid },
        seal(keys, rKey, { from: keys.id, to: sdk.id, mid }, payload),
      );
      expect((await wire.next('stored')).header).toMatchObject({ mid, dup: false });
    }
    // The SDK acknowledges each after its handler: both acked means both were opened and handed over.
    while (received.length < 2) await orRejected(sdk, sdk.once('message'));
    expect(received).toMatchObject([
      { from: keys.id, mid: 'doc-text', kind: 'text', text: 'hello from the document, ünïcödé' },
      { from: keys.id, mid: 'doc-bytes', kind: 'bytes' },
    ]);
    expect([...(received[1] as { bytes: Uint8Array }).bytes]).toEqual([0, 1, 2, 255]);
  });

  it('opens text, bytes and a file that an SDK client sent, from the document alone', async () => {
    const keys = await makeKeys();
    const wire = await wireClient(keys);
    const sdk = await sdkClient();
    const sKey = await boxKeyOf(wire, sdk.id);
    const text = await sdk.send(keys.id, 'hello from the SDK');
    const bytes = await sdk.send(keys.id, new Uint8Array([7, 8, 9]));
    const data = new Uint8Array(150_000).map((_, i) => (i * 31) % 251);
    const file = await sdk.sendFile(keys.id, data, { name: 'photo.bin', type: 'application/octet-stream' });

    const opened = async (mid: string) => {
      const { header, body } = await wire.next('msg', (f) => f.header.mid === mid);
      expect(header.from).toBe(sdk.id);
      wire.send({ t: 'ack', id: header.id });
      return open(keys, sKey, { from: sdk.id, to: keys.id, mid }, body);
    };
    expect(Buffer.from(await opened(text.mid)).toString('utf8')).toBe('\u0001hello from the SDK');
    expect([...(await opened(bytes.mid))]).toEqual([2, 7, 8, 9]);
    const offer = fileOfferOf(await opened(file.fileId));
    expect(offer).toMatchObject({ fileId: file.fileId, name: 'photo.bin', size: data.length });
    expect(offer.chunks).toBeGreaterThan(1);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < offer.chunks; i++) {
      const { header, body } = await wire.next('msg', (f) => f.header.mid === chunkMid(offer.fileId, i));
      wire.send({ t: 'ack', id: header.id });
      chunks.push(body);
    }
    expect(Buffer.from(assembleFile(offer, chunks)).equals(Buffer.from(data))).toBe(true);
  });

  it('offers a share whose description and part an SDK client opens and accepts', async () => {
    const keys = await makeKeys();
    const wire = await wireClient(keys);
    const sdk = await sdkClient();
    const rKey = await boxKeyOf(wire, sdk.id);
    const to = sdk.id;
    const offered = sdk.once('offer');
    const part = textPayload('the shared note');
    wire.send(
      { t: 'send', to, mid: 'doc-part', offer: 'doc-share' },
      seal(keys, rKey, { from: keys.id, to, mid: 'doc-part' }, part),
    );
    await wire.next('stored');
    const description = sharePayload({ kind: 'text', mid: 'doc-part' }, 'a preview');
    const preview = seal(keys, rKey, { from: keys.id, to, mid: 'doc-share' }, description);
    wire.send({ t: 'share', to, mid: 'doc-share', parts: 1 }, preview);
    expect((await wire.next('stored')).header).toMatchObject({ mid: 'doc-share' });

    const offer: IncomingOffer = await orRejected(sdk, offered);
    expect(offer).toMatchObject({
      from: keys.id,
      mid: 'doc-share',
      auto: false,
      preview: 'a preview',
      content: { kind: 'text', mid: 'doc-part' },
    });
    const arrived = sdk.once('message');
    if (offer.auto) throw new Error('offer accepted automatically');
    await offer.accept();
    expect(await arrived).toMatchObject({
      from: keys.id,
      mid: 'doc-part',
      kind: 'text',
      text: 'the shared note',
    });
    // The friends list was never needed: a share goes to any user, the recipient decides.
    expect(await request(wire, { t: 'friends' })).toMatchObject({ friends: [] });
  });
});
