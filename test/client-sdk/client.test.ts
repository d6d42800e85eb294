import { beforeAll, describe, expect, it, vi } from 'vitest';
import { seal } from '../../client-sdk/envelope.js';
import { FileSender } from '../../client-sdk/file-transfer.js';
import { createIdentity, type Identity, MemoryStorage } from '../../client-sdk/index.js';
import { encodePayload } from '../../client-sdk/payload.js';
import { type MessageFrame, toBase64url } from '../../protocol/index.js';
import { fakeClients } from './fake-clients.js';
import { FakeSocket } from './fake-socket.js';

let me: Identity;
let bob: Identity;
let mallory: Identity;

beforeAll(async () => {
  [me, bob, mallory] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]);
});

const { client, connect, answerKeys } = fakeClients(() => me);

function messageFrom(sender: Identity, mid: string, text: string): MessageFrame {
  const body = seal(
    sender,
    me.boxPublicKey,
    { from: sender.id, to: me.id, mid },
    encodePayload({ kind: 'text', text }),
  );
  return {
    t: 'msg',
    id: `m:${sender.id}:${mid}`,
    from: sender.id,
    mid,
    ts: 1,
    exp: Date.now() + 60_000,
    body,
  };
}

describe('client outbox', () => {
  it('queues a send made before connecting, sends it once open and resolves when stored', async () => {
    const c = await client();
    const sent = c.send(bob.id, 'hello');
    const socket = connect(c);
    const frame = socket.next('send');
    await answerKeys(socket, bob);
    const send = await frame;
    expect(send.to).toBe(bob.id);
    socket.receive({ t: 'stored', to: bob.id, mid: send.mid, exp: 5, dup: false });
    await expect(sent).resolves.toEqual({ to: bob.id, mid: send.mid, exp: 5, dup: false });
  });

  it('sends an unconfirmed message again with the same ID after a reconnect', async () => {
    vi.useFakeTimers();
    const c = await client();
    const socket = connect(c);
    const first = socket.next('send');
    const sent = c.send(bob.id, new Uint8Array([1, 2, 3]));
    await answerKeys(socket, bob);
    const original = await first;
    socket.drop(1006);
    vi.advanceTimersByTime(250);
    const again = FakeSocket.latest();
    const resent = again.next('send');
    again.handshake(me.id);
    const retry = await resent;
    expect(retry.mid).toBe(original.mid);
    expect(retry.body).toEqual(original.body);
    again.receive({ t: 'stored', to: bob.id, mid: retry.mid, exp: 9, dup: true });
    await expect(sent).resolves.toMatchObject({ dup: true });
  });

  it('backs off when rate limited and then sends the very same frame again', async () => {
    vi.useFakeTimers();
    const c = await client();
    const socket = connect(c);
    const first = socket.next('send');
    c.send(bob.id, 'slow down?').catch(() => undefined); // rejects with 'closed' at the end
    await answerKeys(socket, bob);
    const original = await first;
    const second = socket.next('send');
    socket.receive({ t: 'error', code: 'rate_limited', message: 'slow', retry: true, ref: original.mid });
    await vi.advanceTimersByTimeAsync(124); // 0.5 of the first 250 ms ceiling
    expect(socket.sent.filter((f) => f.t === 'send')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await second).toEqual(original);
  });

  it('rejects a send the relay refuses for good, with the protocol code', async () => {
    const c = await client();
    const socket = connect(c);
    const first = socket.next('send');
    const sent = c.send(bob.id, 'to nobody');
    await answerKeys(socket, bob);
    const frame = await first;
    socket.receive({ t: 'error', code: 'unknown_recipient', message: 'no', retry: false, ref: frame.mid });
    await expect(sent).rejects.toMatchObject({
      name: 'PassbyError',
      code: 'unknown_recipient',
      retry: false,
    });
  });

  it('refuses a key that does not hash to the recipient ID', async () => {
    const c = await client();
    const socket = connect(c);
    const sent = c.send(bob.id, 'for bob only');
    const req = await socket.next('keys');
    socket.receive({ t: 'keys', rid: req.rid, keys: { [bob.id]: toBase64url(mallory.publicKey) } });
    await expect(sent).rejects.toMatchObject({ code: 'bad_key' });
    expect(socket.sent.some((f) => f.t === 'send')).toBe(false);
  });

  it('keeps an unsent message in storage and sends it from the next client', async () => {
    const storage = new MemoryStorage();
    const one = await client({ storage });
    const lost = one.send(bob.id, 'survive a restart');
    await one.close();
    await expect(lost).rejects.toMatchObject({ code: 'closed' });
    const two = await client({ storage });
    const sentEvent = two.once('sent');
    const socket = connect(two);
    const frame = socket.next('send');
    await answerKeys(socket, bob);
    const send = await frame;
    socket.receive({ t: 'stored', to: bob.id, mid: send.mid, exp: 7, dup: false });
    expect(await sentEvent).toMatchObject({ mid: send.mid, to: bob.id });
    expect(await storage.keys('outbox/')).toEqual([]);
  });

  it('stores a send to a known contact sealed, never as plaintext', async () => {
    const storage = new MemoryStorage();
    const one = await client({ storage });
    const socket = connect(one);
    const first = one.send(bob.id, 'learn the key');
    await answerKeys(socket, bob);
    const frame = await socket.next('send');
    socket.receive({ t: 'stored', to: bob.id, mid: frame.mid, exp: 1, dup: false });
    await first;
    await one.close();
    const two = await client({ storage });
    const offline = two.send(bob.id, 'secret while offline');
    await two.close();
    await expect(offline).rejects.toMatchObject({ code: 'closed' });
    const [key] = await storage.keys('outbox/');
    const saved = JSON.parse((await storage.get(key!))!) as Record<string, unknown>;
    expect(saved.body).toEqual(expect.any(String));
    expect(saved.payload).toBeUndefined();
  });

  it('refuses a message too large for one frame and points to sendFile', async () => {
    const c = await client();
    await expect(c.send(bob.id, new Uint8Array(70_000))).rejects.toMatchObject({ code: 'payload_too_large' });
  });
});

describe('client inbox', () => {
  it('acknowledges a message only after the handler has resolved', async () => {
    const c = await client();
    let finish!: () => void;
    const handled = new Promise<void>((r) => {
      finish = r;
    });
    const seen: string[] = [];
    let called!: () => void;
    const inHandler = new Promise<void>((r) => {
      called = r;
    });
    c.on('message', async (m) => {
      if (m.kind === 'text') seen.push(m.text);
      called();
      await handled;
    });
    const socket = connect(c);
    const frame = messageFrom(bob, 'x1', 'hi me');
    socket.receive(frame);
    await answerKeys(socket, bob);
    await inHandler;
    expect(seen).toEqual(['hi me']);
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
    const ack = socket.next('ack');
    finish();
    expect(await ack).toEqual({ t: 'ack', id: frame.id });
  });

  it('in protocol 3, acks the messages it had in hand together and takes stored items', async () => {
    const c = await client();
    const seen: string[] = [];
    c.on('message', (m) => {
      seen.push(m.mid);
    });
    const socket = connect(c, 3);
    const frames = Array.from({ length: 70 }, (_, i) => messageFrom(bob, `b${i}`, `hi ${i}`));
    const acks = socket.nextN('ack', 2);
    for (const f of frames) socket.receive(f);
    await answerKeys(socket, bob);
    // 70 in hand: the first 64 acks leave as one frame, the other 6 once nothing is left.
    expect(await acks).toEqual([
      { t: 'ack', ids: frames.slice(0, 64).map((f) => f.id) },
      { t: 'ack', ids: frames.slice(64).map((f) => f.id) },
    ]);
    expect(seen).toHaveLength(70);

    // A message alone is acked alone, at once.
    const lone = messageFrom(bob, 'lone', 'just me');
    const ack = socket.next('ack');
    socket.receive(lone);
    expect(await ack).toEqual({ t: 'ack', id: lone.id });

    const frameSends = socket.nextN('send', 2);
    const sent = [c.send(bob.id, 'one'), c.send(bob.id, 'two')];
    const sends = await frameSends;
    const items = sends.map((f, i) => ({ to: bob.id, mid: f.mid, exp: 10 + i, dup: false }));
    socket.receive({ t: 'stored', items });
    expect(await Promise.all(sent)).toEqual(items);
  });

  it('acknowledges again, after a pause, an ack the relay could not record', async () => {
    vi.useFakeTimers();
    const c = await client();
    const problems: unknown[] = [];
    c.on('error', ({ error }) => {
      problems.push(error);
    });
    c.on('message', () => {});
    const socket = connect(c);
    const frame = messageFrom(bob, 'retry-ack', 'hello');
    const first = socket.next('ack');
    socket.receive(frame);
    await answerKeys(socket, bob);
    expect(await first).toEqual({ t: 'ack', id: frame.id });
    const again = socket.next('ack');
    socket.receive({
      t: 'error',
      code: 'store_unavailable',
      message: 'the ack was not recorded',
      retry: true,
      ref: frame.id,
    });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(await again).toEqual({ t: 'ack', id: frame.id });
    expect(problems).toEqual([]);
  });

  it('drops a redelivered message, even after a restart with the same storage', async () => {
    const storage = new MemoryStorage();
    const seen: string[] = [];
    const one = await client({ storage });
    one.on('message', (m) => {
      seen.push(m.mid);
    });
    const s1 = connect(one);
    const frame = messageFrom(bob, 'once', 'only once');
    const ack1 = s1.next('ack');
    s1.receive(frame);
    await answerKeys(s1, bob);
    await ack1;
    const ack2 = s1.next('ack');
    s1.receive(frame);
    await ack2;
    await one.close();
    const two = await client({ storage });
    two.on('message', (m) => {
      seen.push(m.mid);
    });
    const s2 = connect(two);
    const ack3 = s2.next('ack');
    s2.receive(frame);
    expect(await ack3).toEqual({ t: 'ack', id: frame.id });
    expect(seen).toEqual(['once']);
  });

  it('reports a tampered message, acknowledges it, and never hands it to the app', async () => {
    const c = await client();
    const handler = vi.fn();
    c.on('message', handler);
    const rejected = c.once('rejected');
    const socket = connect(c);
    const frame = messageFrom(bob, 'evil', 'original');
    frame.body[frame.body.length - 1]! ^= 0x40;
    const ack = socket.next('ack');
    socket.receive(frame);
    await answerKeys(socket, bob);
    expect(await rejected).toMatchObject({ from: bob.id, mid: 'evil', error: { code: 'tampered' } });
    expect(await ack).toEqual({ t: 'ack', id: frame.id });
    expect(handler).not.toHaveBeenCalled();
  });

  it('does not acknowledge a message whose handler throws, so it comes again', async () => {
    const c = await client();
    c.on('message', () => {
      throw new Error('app bug');
    });
    const error = c.once('error');
    const socket = connect(c);
    socket.receive(messageFrom(bob, 'boom', 'x'));
    await answerKeys(socket, bob);
    expect(await error).toMatchObject({ error: { code: 'handler_failed' }, mid: 'boom' });
    await c.close();
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
  });

  it('refuses a file larger than maxFileBytes before allocating it', async () => {
    const c = await client({ maxFileBytes: 1000 });
    const files = vi.fn();
    c.on('file', files);
    const rejected = c.once('rejected');
    const socket = connect(c);
    const offer = new FileSender(new Uint8Array(5000), { name: 'big', type: 'x/y' }, 1000).offer;
    const body = seal(
      bob,
      me.boxPublicKey,
      { from: bob.id, to: me.id, mid: offer.fileId },
      encodePayload({ kind: 'file', offer }),
    );
    const ack = socket.next('ack');
    socket.receive({
      t: 'msg',
      id: `m:${bob.id}:${offer.fileId}`,
      from: bob.id,
      mid: offer.fileId,
      ts: 1,
      exp: 2,
      body,
    });
    await answerKeys(socket, bob);
    expect(await rejected).toMatchObject({ mid: offer.fileId, error: { code: 'file_corrupt' } });
    expect(await ack).toMatchObject({ id: `m:${bob.id}:${offer.fileId}` });
    expect(files).not.toHaveBeenCalled();
  });

  it('reports a file that stops arriving once fileTimeoutMs has passed without progress', async () => {
    vi.useFakeTimers();
    const c = await client({ fileTimeoutMs: 60_000 });
    const rejected = c.once('rejected');
    const socket = connect(c);
    const sender = new FileSender(new Uint8Array(3000).fill(1), { name: 'f', type: 'x/y' }, 1000);
    const { offer } = sender;
    const offerBody = seal(
      bob,
      me.boxPublicKey,
      { from: bob.id, to: me.id, mid: offer.fileId },
      encodePayload({ kind: 'file', offer }),
    );
    const offerId = `m:${bob.id}:${offer.fileId}`;
    socket.receive({
      t: 'msg',
      id: offerId,
      from: bob.id,
      mid: offer.fileId,
      ts: 1,
      exp: 2,
      body: offerBody,
    });
    const first = sender.next();
    const chunkAck = socket.next('ack');
    socket.receive({
      t: 'msg',
      id: `m:${bob.id}:${first.mid}`,
      from: bob.id,
      mid: first.mid,
      ts: 1,
      exp: 2,
      body: first.body,
    });
    await answerKeys(socket, bob);
    expect(await chunkAck).toEqual({ t: 'ack', id: `m:${bob.id}:${first.mid}` });
    const offerAck = socket.next('ack');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await rejected).toMatchObject({ mid: offer.fileId, error: { code: 'file_incomplete' } });
    expect(await offerAck).toEqual({ t: 'ack', id: offerId });
  });

  it('leaves a message at the relay when the app has no message handler', async () => {
    const c = await client();
    const error = c.once('error');
    const socket = connect(c);
    socket.receive(messageFrom(bob, 'nobody', 'listening?'));
    await answerKeys(socket, bob);
    expect(await error).toMatchObject({ error: { code: 'handler_failed' }, mid: 'nobody' });
    await c.close();
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
  });
});
