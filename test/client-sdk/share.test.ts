import { beforeAll, describe, expect, it, vi } from 'vitest';
import { open, seal } from '../../client-sdk/envelope.js';
import {
  createIdentity,
  type Identity,
  type IncomingOffer,
  MemoryStorage,
  type PassbyClient,
  SHARE_ATTEMPTS,
} from '../../client-sdk/index.js';
import { decodePayload, encodePayload, type ShareDescription } from '../../client-sdk/payload.js';
import type { ClientFrame, OfferFrame } from '../../protocol/index.js';
import { fakeClients } from './fake-clients.js';
import { FakeSocket } from './fake-socket.js';

/*
 * Shares as offers (protocol v2, DESIGN C2) against a relay played by hand: what the sender puts on
 * the wire and in which order, and how the recipient's SDK shows, answers and acknowledges offers.
 * with-relay-share.test.ts runs the same flows against the real relay and Redis.
 */

let me: Identity;
let bob: Identity;
let mallory: Identity;

beforeAll(async () => {
  [me, bob, mallory] = await Promise.all([createIdentity(), createIdentity(), createIdentity()]);
});

const { client, connect, answerKeys } = fakeClients(() => me);

type Sent = Extract<ClientFrame, { t: 'send' | 'share' }>;

/** Answers every send and share with `stored` as the client sends it (or, refused, not), until `stop()`. */
function storeEverything(socket: FakeSocket, onShare?: (f: Extract<ClientFrame, { t: 'share' }>) => boolean) {
  let running = true;
  const frames: Sent[] = [];
  const send = socket.send.bind(socket);
  socket.send = (data: Uint8Array) => {
    send(data);
    const f = socket.sent.at(-1)!;
    if (!running || (f.t !== 'send' && f.t !== 'share')) return;
    frames.push(f);
    queueMicrotask(() => {
      if (f.t === 'share' && onShare && !onShare(f)) return;
      socket.receive({ t: 'stored', to: f.to, mid: f.mid, exp: 1_000, dup: false });
    });
  };
  return {
    frames,
    stop() {
      running = false;
    },
  };
}

/** What `bob` reads from a body `me` sealed for him. */
function openForBob(f: Sent) {
  return decodePayload(open(bob, me.boxPublicKey, { from: me.id, to: bob.id, mid: f.mid }, f.body));
}

function offerFrom(sender: Identity, share: ShareDescription, extra: Partial<OfferFrame> = {}): OfferFrame {
  const mid = extra.mid ?? `s${Math.random().toString(36).slice(2, 10)}`;
  const body = seal(
    sender,
    me.boxPublicKey,
    { from: sender.id, to: me.id, mid },
    encodePayload({ kind: 'share', share }),
  );
  return {
    t: 'offer',
    id: `m:${sender.id}:${mid}`,
    from: sender.id,
    mid,
    ts: 1,
    exp: Date.now() + 60_000,
    parts: 1,
    auto: false,
    body,
    ...extra,
  };
}

/** Resolves with the first `count` offers the client shows. */
function collectOffers(c: PassbyClient, count: number): Promise<IncomingOffer[]> {
  const offers: IncomingOffer[] = [];
  return new Promise((resolve) => {
    c.on('offer', (o) => {
      offers.push(o);
      if (offers.length === count) resolve(offers);
    });
  });
}

const TEXT_SHARE: ShareDescription = { content: { kind: 'text', mid: 'abc-c' }, preview: 'a note for you' };

describe('sharing', () => {
  it('stores the content as a held part first, then offers it with the sealed preview', async () => {
    const c = await client();
    const socket = connect(c);
    const part = socket.next('send');
    const shared = c.share(bob.id, 'the content', { preview: 'a preview', receipt: true });
    await answerKeys(socket, bob);
    const send = await part;
    // Nothing is offered before the part is stored. The outbox sends in order, so a share queued
    // without waiting for the part would go out before a send queued after the part went out.
    const probeOut = socket.next('send', (f) => f.mid === 'probe');
    const probe = c.send(bob.id, 'probe', { mid: 'probe' });
    await probeOut;
    expect(socket.sent.some((f) => f.t === 'share')).toBe(false);
    socket.receive({ t: 'stored', to: bob.id, mid: 'probe', exp: 900, dup: false });
    await probe;
    expect(socket.sent.some((f) => f.t === 'share')).toBe(false);
    const offer = socket.next('share');
    socket.receive({ t: 'stored', to: bob.id, mid: send.mid, exp: 900, dup: false });
    const share = await offer;
    expect(send).toMatchObject({ to: bob.id, offer: share.mid });
    expect(send.receipt).toBeUndefined();
    expect(share).toMatchObject({ to: bob.id, parts: 1, receipt: true });
    expect(openForBob(send)).toEqual({ kind: 'text', text: 'the content' });
    expect(openForBob(share)).toEqual({
      kind: 'share',
      share: { content: { kind: 'text', mid: send.mid }, preview: 'a preview' },
    });
    socket.receive({ t: 'stored', to: bob.id, mid: share.mid, exp: 800, dup: false });
    expect(await shared).toEqual({
      to: bob.id,
      mid: share.mid,
      exp: 800,
      parts: 1,
      content: { kind: 'text', mid: send.mid },
    });
  });

  it('shares a file as held chunks, counts them as parts, and reports progress', async () => {
    const c = await client({ fileChunkBytes: 1000 });
    const socket = connect(c);
    const progress: number[] = [];
    c.on('progress', (p) => {
      if (p.direction === 'send') progress.push(p.bytes);
    });
    const relay = storeEverything(socket);
    const data = new Uint8Array(2500).map((_, i) => i % 251);
    const shared = c.share(
      bob.id,
      { file: data, name: 'a.bin', type: 'x/y' },
      { preview: new Uint8Array([7]) },
    );
    await answerKeys(socket, bob);
    const result = await shared;
    relay.stop();
    const share = relay.frames.at(-1)!;
    const parts = relay.frames.slice(0, -1);
    expect(share.t).toBe('share');
    expect(parts).toHaveLength(4); // the file's offer and three chunks
    expect(parts.every((f) => f.t === 'send' && f.offer === share.mid)).toBe(true);
    expect(result).toMatchObject({
      mid: share.mid,
      parts: 4,
      content: { kind: 'file', name: 'a.bin', size: 2500 },
    });
    expect(share).toMatchObject({ parts: 4 });
    expect(openForBob(share)).toMatchObject({
      kind: 'share',
      share: {
        content: { kind: 'file', name: 'a.bin', type: 'x/y', size: 2500 },
        preview: new Uint8Array([7]),
      },
    });
    expect(progress.at(-1)).toBe(2500);
  });

  it('sends every part again and then the share when the relay says a part is missing', async () => {
    const c = await client();
    const socket = connect(c);
    let refusals = 1;
    const relay = storeEverything(socket, (f) => {
      if (refusals-- <= 0) return true;
      socket.receive({ t: 'error', code: 'share_incomplete', message: 'missing', retry: true, ref: f.mid });
      return false;
    });
    const shared = c.share(bob.id, 'again', { preview: 'p' });
    await answerKeys(socket, bob);
    const result = await shared;
    relay.stop();
    expect(relay.frames.map((f) => f.t)).toEqual(['send', 'share', 'send', 'share']);
    const [part, share, part2, share2] = relay.frames;
    // The same IDs again: the relay stores a part it already holds once (D3).
    expect(part2!.mid).toBe(part!.mid);
    expect(share2!.mid).toBe(share!.mid);
    expect(result.mid).toBe(share!.mid);
  });

  it("sends a file share's parts again with the very same chunks after share_incomplete", async () => {
    const c = await client({ fileChunkBytes: 1000 });
    const socket = connect(c);
    let refusals = 1;
    const relay = storeEverything(socket, (f) => {
      if (refusals-- <= 0) return true;
      socket.receive({ t: 'error', code: 'share_incomplete', message: 'missing', retry: true, ref: f.mid });
      return false;
    });
    const shared = c.share(bob.id, { file: new Uint8Array(2500).fill(3), name: 'f' }, { preview: 'p' });
    await answerKeys(socket, bob);
    await shared;
    relay.stop();
    expect(relay.frames.map((f) => f.t)).toEqual(
      [...'ssssS', ...'ssssS'].map((t) => (t === 's' ? 'send' : 'share')),
    );
    const first = relay.frames.slice(0, 5);
    const again = relay.frames.slice(5);
    expect(again.map((f) => f.mid)).toEqual(first.map((f) => f.mid));
    // Chunks are resent as they were encrypted; the file's offer is sealed again (a new envelope).
    expect(again.slice(1, 4).map((f) => f.body)).toEqual(first.slice(1, 4).map((f) => f.body));
  });

  it(`gives up with share_incomplete after ${SHARE_ATTEMPTS} attempts`, async () => {
    const c = await client();
    const socket = connect(c);
    const relay = storeEverything(socket, (f) => {
      socket.receive({
        t: 'error',
        code: 'share_incomplete',
        message: 'part missing',
        retry: true,
        ref: f.mid,
      });
      return false;
    });
    const shared = c.share(bob.id, new Uint8Array([1, 2]), { preview: 'p' });
    await answerKeys(socket, bob);
    await expect(shared).rejects.toMatchObject({ name: 'PassbyError', code: 'share_incomplete' });
    relay.stop();
    expect(relay.frames.filter((f) => f.t === 'share')).toHaveLength(SHARE_ATTEMPTS);
  });

  it('refuses a file of more chunks than a share may hold before anything is sent', async () => {
    const c = await client({ fileChunkBytes: 1 });
    const socket = connect(c);
    const shared = c.share(bob.id, { file: new Uint8Array(4096), name: 'many' }, { preview: 'p' });
    await expect(shared).rejects.toMatchObject({ name: 'PassbyError', code: 'payload_too_large' });
    expect(socket.sent.some((f) => f.t === 'send' || f.t === 'share')).toBe(false);
  });

  it('refuses content or a preview of the wrong type at once', async () => {
    const c = await client();
    // @ts-expect-error: no preview
    await expect(c.share(bob.id, 'x', {})).rejects.toBeInstanceOf(TypeError);
    // @ts-expect-error: a number is not content
    await expect(c.share(bob.id, 42, { preview: 'p' })).rejects.toBeInstanceOf(TypeError);
    await expect(c.share('nobody', 'x', { preview: 'p' })).rejects.toBeInstanceOf(TypeError);
  });
});

describe('offers', () => {
  it('shows an offer with its verified preview and answers it only when the app accepts', async () => {
    const c = await client();
    const shown = c.once('offer');
    const socket = connect(c);
    const frame = offerFrom(bob, TEXT_SHARE, { parts: 1 });
    socket.receive(frame);
    await answerKeys(socket, bob);
    const offer = await shown;
    expect(offer).toMatchObject({
      from: bob.id,
      mid: frame.mid,
      parts: 1,
      auto: false,
      preview: 'a note for you',
      content: { kind: 'text', mid: 'abc-c' },
    });
    expect(socket.sent.some((f) => f.t === 'ack' || f.t === 'answer')).toBe(false);
    if (offer.auto) throw new Error('unreachable');
    const answer = socket.next('answer');
    const accepted = offer.accept();
    const a = await answer;
    expect(a).toEqual({ t: 'answer', rid: a.rid, id: frame.id, accept: true });
    socket.receive({ t: 'ok', rid: a.rid });
    await expect(accepted).resolves.toBeUndefined();
    // Accepting twice is the same answer; changing one's mind is not possible.
    await expect(offer.accept()).resolves.toBeUndefined();
    await expect(offer.reject()).rejects.toBeInstanceOf(TypeError);
    expect(socket.sent.filter((f) => f.t === 'answer')).toHaveLength(1);
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
  });

  it('sends a rejection, and passes on unknown_offer from the relay', async () => {
    const c = await client();
    const shown = collectOffers(c, 2);
    const socket = connect(c);
    const first = offerFrom(bob, TEXT_SHARE);
    const second = offerFrom(bob, TEXT_SHARE);
    socket.receive(first);
    socket.receive(second);
    await answerKeys(socket, bob);
    const [one, two] = (await shown) as Extract<IncomingOffer, { auto: false }>[];
    const answer = socket.next('answer');
    const rejected = one!.reject();
    const a = await answer;
    expect(a).toMatchObject({ id: first.id, accept: false });
    socket.receive({ t: 'ok', rid: a.rid });
    await rejected;
    const late = socket.next('answer');
    const accepted = two!.accept();
    socket.receive({
      t: 'error',
      code: 'unknown_offer',
      message: 'gone',
      retry: false,
      ref: String((await late).rid),
    });
    await expect(accepted).rejects.toMatchObject({ name: 'PassbyError', code: 'unknown_offer' });
  });

  it('shows an unanswered offer once per process, across a reconnect, and again in a new process', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const storage = new MemoryStorage();
      const frame = offerFrom(bob, TEXT_SHARE);
      const seen: string[] = [];
      const one = await client({ storage });
      one.on('offer', (o) => {
        seen.push(`one ${o.mid}`);
      });
      const firstShown = one.once('offer');
      const s1 = connect(one);
      s1.receive(frame);
      await answerKeys(s1, bob);
      await firstShown;
      expect(seen).toHaveLength(1);
      s1.drop(1006);
      await vi.advanceTimersByTimeAsync(1_000);
      const s2 = FakeSocket.latest();
      s2.handshake(me.id);
      s2.receive(frame);
      s2.receive({ t: 'drained' });
      await one.once('drained');
      expect(seen).toEqual([`one ${frame.mid}`]);
      await one.close();
      const two = await client({ storage });
      two.on('offer', (o) => {
        seen.push(`two ${o.mid}`);
      });
      const shownAgain = two.once('offer');
      const s3 = connect(two);
      s3.receive(frame);
      await shownAgain;
      expect(seen).toHaveLength(2);
      expect(seen[1]).toBe(`two ${frame.mid}`);
      for (const s of [s1, s2, s3]) expect(s.sent.some((f) => f.t === 'ack' || f.t === 'answer')).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not show an offer again once it was answered, even in a new process', async () => {
    const storage = new MemoryStorage();
    const frame = offerFrom(bob, TEXT_SHARE);
    const one = await client({ storage });
    const shown = one.once('offer');
    const s1 = connect(one);
    s1.receive(frame);
    await answerKeys(s1, bob);
    const offer = (await shown) as Extract<IncomingOffer, { auto: false }>;
    const answer = s1.next('answer');
    const done = offer.reject();
    s1.receive({ t: 'ok', rid: (await answer).rid });
    await done;
    await one.close();
    const two = await client({ storage });
    const offers = vi.fn();
    two.on('offer', offers);
    const s2 = connect(two);
    s2.receive(frame);
    s2.receive({ t: 'drained' });
    await two.once('drained');
    expect(offers).not.toHaveBeenCalled();
  });

  it('acknowledges an automatically accepted offer after the handler resolved, with no answer to give', async () => {
    const c = await client();
    let finish!: () => void;
    const handled = new Promise<void>((r) => {
      finish = r;
    });
    c.on('offer', () => handled);
    const shown = c.once('offer'); // resolves while the handler above still waits
    const socket = connect(c);
    const frame = offerFrom(bob, TEXT_SHARE, { auto: true });
    socket.receive(frame);
    await answerKeys(socket, bob);
    const got = await shown;
    expect(got).toMatchObject({ auto: true, preview: 'a note for you' });
    expect('accept' in got).toBe(false);
    expect(socket.sent.some((f) => f.t === 'ack')).toBe(false);
    const ack = socket.next('ack');
    finish();
    expect(await ack).toEqual({ t: 'ack', id: frame.id });
    expect(socket.sent.some((f) => f.t === 'answer')).toBe(false);
  });

  it('never shows an offer whose preview fails verification: reports it and declines it', async () => {
    const c = await client();
    const offers = vi.fn();
    c.on('offer', offers);
    const rejected = c.once('rejected');
    const socket = connect(c);
    // Sealed by mallory, claimed to be from bob.
    const forged = { ...offerFrom(mallory, TEXT_SHARE), from: bob.id };
    forged.id = `m:${bob.id}:${forged.mid}`;
    const answer = socket.next('answer');
    socket.receive(forged);
    await answerKeys(socket, bob);
    expect(await rejected).toMatchObject({ from: bob.id, mid: forged.mid, error: { code: 'tampered' } });
    const a = await answer;
    expect(a).toMatchObject({ id: forged.id, accept: false });
    socket.receive({ t: 'ok', rid: a.rid });
    expect(offers).not.toHaveBeenCalled();
  });

  it('refuses a share description that arrives as an ordinary message', async () => {
    const c = await client();
    c.on('message', () => undefined);
    const rejected = c.once('rejected');
    const socket = connect(c);
    const frame = offerFrom(bob, TEXT_SHARE);
    socket.receive({
      t: 'msg',
      id: frame.id,
      from: bob.id,
      mid: frame.mid,
      ts: 1,
      exp: frame.exp,
      body: frame.body,
    });
    await answerKeys(socket, bob);
    expect(await rejected).toMatchObject({ mid: frame.mid, error: { code: 'protocol' } });
  });

  it('leaves an offer at the relay, and says so, when nobody listens for offers', async () => {
    const c = await client();
    const error = c.once('error');
    const socket = connect(c);
    const frame = offerFrom(bob, TEXT_SHARE);
    socket.receive(frame);
    await answerKeys(socket, bob);
    expect(await error).toMatchObject({ error: { code: 'handler_failed' }, mid: frame.mid });
    expect(socket.sent.some((f) => f.t === 'ack' || f.t === 'answer')).toBe(false);
  });

  it('reports a rejected share through the receipt event', async () => {
    const c = await client();
    // A frame the SDK refuses comes as an error: fail at once rather than wait for the receipt.
    const receipt = Promise.race([
      c.once('receipt'),
      c.once('error').then(({ error }) => Promise.reject(error)),
    ]);
    const socket = connect(c);
    const ack = socket.next('ack');
    socket.receive({
      t: 'receipt',
      id: `r:${bob.id}:share1`,
      to: bob.id,
      mid: 'share1',
      status: 'rejected',
      at: 5,
    });
    expect(await receipt).toEqual({ to: bob.id, mid: 'share1', status: 'rejected', at: 5 });
    expect(await ack).toEqual({ t: 'ack', id: `r:${bob.id}:share1` });
  });
});

describe('the share description', () => {
  it('round-trips text and byte previews and refuses a malformed one', () => {
    const file: ShareDescription = {
      content: { kind: 'file', fileId: 'F'.repeat(22), name: 'p.jpg', type: 'image/jpeg', size: 9 },
      preview: new Uint8Array([1, 2, 3]),
    };
    for (const share of [TEXT_SHARE, file]) {
      expect(decodePayload(encodePayload({ kind: 'share', share }))).toEqual({ kind: 'share', share });
    }
    const bad = encodePayload({ kind: 'share', share: TEXT_SHARE }).slice(0, 5);
    expect(() => decodePayload(bad)).toThrow(/could not be decoded/);
  });
});
