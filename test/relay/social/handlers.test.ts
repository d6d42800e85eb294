import { Writable } from 'node:stream';
import { latLngToCell } from 'h3-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Relay, startRelay } from '../../../relay/index.js';
import { connectRedis } from '../../../relay/redis/index.js';
import { createRedisSocialStore } from '../../../relay/social/redis.js';
import { waitFor } from '../../support/poll.js';
import { type Identity, newIdentity, RawClient } from '../../support/raw-client.js';
import { type RedisBackend, redisBackends } from '../../support/redis-backends.js';
import { dumpRedis, TEST_DISCOVERY_SECRET } from '../../support/relay-fixture.js';

// A relay with a clock the tests move, so the one-update-a-minute rule and the jump check can be
// exercised without waiting. Authentication tolerates the skew this creates.
// Every case on one Redis and on a Redis Cluster (3 primaries with a replica each), a relay each.
describe.each(redisBackends())('on %s', (_, start) => {
  let clock = Date.now();
  let redis: RedisBackend;
  let relay: Relay;
  const logLines: string[] = [];

  beforeAll(async () => {
    redis = await start();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    relay = await startRelay({
      config: {
        ...redis.config,
        // Presence in the same Redis too (these keep nothing on disk), where the tests can read it.
        presenceRedisUrl: redis.config.redisUrl,
        presenceRedisCluster: redis.config.redisCluster,
        discoverySecret: TEST_DISCOVERY_SECRET,
        authSkewMs: 24 * 3_600_000,
        // The clock jumps minutes past deliveries the tests leave unacked: the stall check (once a
        // second, on this clock) must not close those clients as slow consumers meanwhile.
        ackTimeoutMs: 24 * 3_600_000,
        proximityWindowMs: 15 * 60_000,
        lookupsPerHour: 10,
      },
      logger: createLogger('debug', sink),
      now: () => clock,
    });
  }, 60_000);
  afterAll(async () => {
    await relay.close();
    await redis.stop();
  });

  const PARIS = latLngToCell(48.8584, 2.2945, 10);
  const PARIS_NEXT_DOOR = latLngToCell(48.8588, 2.2945, 10);
  const BERLIN = latLngToCell(52.52, 13.405, 10);

  async function login(identity: Identity): Promise<RawClient> {
    const client = await RawClient.login(relay.url, identity);
    await client.next('drained');
    return client;
  }

  let nextRid = 1;
  async function request(client: RawClient, frame: Record<string, unknown>) {
    const rid = nextRid++;
    client.send({ ...frame, rid } as never);
    const f = await client.nextOf('ok', 'error', 'friends', 'lookup');
    if (('rid' in f && f.rid !== rid) || (f.t === 'error' && f.ref !== String(rid)))
      throw new Error('answer out of order');
    return f;
  }

  async function friends(
    a: RawClient,
    ai: Identity,
    b: RawClient,
    bi: Identity,
    proximity = true,
  ): Promise<void> {
    expect(await request(a, { t: 'friend', op: 'request', id: bi.id })).toMatchObject({ t: 'ok' });
    expect(await b.next('notice')).toMatchObject({ kind: 'friend', user: ai.id, state: 'incoming' });
    expect(await request(b, { t: 'friend', op: 'accept', id: ai.id })).toMatchObject({ t: 'ok' });
    expect(await a.next('notice')).toMatchObject({ kind: 'friend', user: bi.id, state: 'friend' });
    if (!proximity) return;
    expect(await request(a, { t: 'consent', id: bi.id, proximity: true, autoAccept: false })).toMatchObject({
      t: 'ok',
    });
    expect(await request(b, { t: 'consent', id: ai.id, proximity: true, autoAccept: false })).toMatchObject({
      t: 'ok',
    });
  }

  async function noticesIn(identity: Identity): Promise<string[]> {
    const keys = await dumpRedis(redis);
    return [...keys.entries()].filter(([k]) => k.includes(identity.id) && k.endsWith(':e')).map(([, v]) => v);
  }

  describe('friends', () => {
    it('link only by mutual consent, with switches off until each side turns its own on', async () => {
      const [ai, bi] = await Promise.all([newIdentity(), newIdentity()]);
      const [a, b] = await Promise.all([login(ai), login(bi)]);
      expect(await request(a, { t: 'consent', id: bi.id, proximity: true, autoAccept: true })).toMatchObject({
        t: 'error',
        code: 'not_friends',
      });
      expect(await request(b, { t: 'friend', op: 'accept', id: ai.id })).toMatchObject({
        code: 'no_request',
      });
      await friends(a, ai, b, bi, false);
      expect(await request(a, { t: 'friends' })).toEqual({
        t: 'friends',
        rid: nextRid - 1,
        friends: [{ id: bi.id, state: 'friend', proximity: false, autoAccept: false }],
      });
      expect(await request(a, { t: 'friend', op: 'remove', id: bi.id })).toMatchObject({ t: 'ok' });
      const removed = await b.next('notice');
      expect(removed).toMatchObject({ kind: 'friend', user: ai.id, state: 'removed' });
      b.send({ t: 'ack', id: removed.id });
      expect(await request(b, { t: 'friends' })).toMatchObject({ friends: [] });
      expect(await request(a, { t: 'friend', op: 'request', id: ai.id })).toMatchObject({
        code: 'invalid_field',
      });
      // A declined request stays outgoing for the requester, so asking again changes nothing; after
      // withdrawing it, asking again is a new event with its own notice (notice IDs carry the relay
      // time, which this file's clock otherwise holds still).
      clock += 1;
      expect(await request(a, { t: 'friend', op: 'request', id: bi.id })).toMatchObject({ t: 'ok' });
      const first = await b.next('notice');
      b.send({ t: 'ack', id: first.id });
      expect(await request(b, { t: 'friend', op: 'decline', id: ai.id })).toMatchObject({ t: 'ok' });
      expect(await request(a, { t: 'friends' })).toMatchObject({
        friends: [{ id: bi.id, state: 'outgoing' }],
      });
      expect(await request(a, { t: 'friend', op: 'remove', id: bi.id })).toMatchObject({ t: 'ok' });
      const withdrawn = await b.next('notice');
      expect(withdrawn).toMatchObject({ kind: 'friend', user: ai.id, state: 'removed' });
      b.send({ t: 'ack', id: withdrawn.id });
      clock += 1;
      expect(await request(a, { t: 'friend', op: 'request', id: bi.id })).toMatchObject({ t: 'ok' });
      const second = await b.next('notice');
      expect(second).toMatchObject({ kind: 'friend', user: ai.id, state: 'incoming' });
      expect(second.id).not.toBe(first.id);
      await Promise.all([a.close(), b.close()]);
    });
  });

  describe('proximity', () => {
    it('tells two friends who both switched proximity on that they are in range, and nothing more', async () => {
      const [ai, bi] = await Promise.all([newIdentity(), newIdentity()]);
      const [a, b] = await Promise.all([login(ai), login(bi)]);
      await friends(a, ai, b, bi);
      clock += 2 * 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      expect(await request(b, { t: 'presence', cell: PARIS_NEXT_DOOR })).toMatchObject({ t: 'ok' });
      for (const [client, other] of [
        [a, bi],
        [b, ai],
      ] as const) {
        const notice = await client.next('notice');
        // P2: the friend and a time window; no cell, token, coordinate or distance.
        expect(Object.keys(notice).sort()).toEqual(['id', 'kind', 'since', 't', 'until', 'user']);
        expect(notice).toMatchObject({ kind: 'nearby', user: other.id });
        expect(JSON.stringify(notice)).not.toContain(PARIS.slice(0, 8));
        client.send({ t: 'ack', id: notice.id });
      }
      await Promise.all([a.close(), b.close()]);
    });

    it('files both nearby notices after a relay died between marking a match and filing them, once each', async () => {
      const [ai, bi] = await Promise.all([newIdentity(), newIdentity()]);
      const [a, b] = await Promise.all([login(ai), login(bi)]);
      await friends(a, ai, b, bi);
      clock += 2 * 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      // What a relay that died after step 1 of b's match left: the pair's mark, no notice.
      const connection = connectRedis(redis.endpoint);
      await connection.connect();
      const since = clock;
      await createRedisSocialStore(connection).markInRange(ai.id, bi.id, clock, clock + 15 * 60_000, since);
      connection.disconnect();
      clock += 60_000;
      expect(await request(b, { t: 'presence', cell: PARIS_NEXT_DOOR })).toMatchObject({ t: 'ok' });
      for (const [client, other] of [
        [a, bi],
        [b, ai],
      ] as const) {
        const notice = await client.next('notice');
        expect(notice).toMatchObject({ kind: 'nearby', user: other.id, since });
        client.send({ t: 'ack', id: notice.id });
      }
      // The encounter is notified now: later updates in the window file nothing more.
      clock += 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      await waitFor(
        'the acks to land',
        async () => {
          const left = [...(await noticesIn(ai)), ...(await noticesIn(bi))];
          return left.every((value) => !value.includes('nearby'));
        },
        { timeoutMs: 5_000 },
      );
      await Promise.all([a.close(), b.close()]);
    });

    it('never matches a non-friend, or a friend who has not switched proximity on for this pair', async () => {
      const [ai, bi, ci] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
      const [a, b, c] = await Promise.all([login(ai), login(bi), login(ci)]);
      await friends(a, ai, b, bi, false);
      expect(await request(a, { t: 'consent', id: bi.id, proximity: true, autoAccept: false })).toMatchObject(
        {
          t: 'ok',
        },
      );
      clock += 2 * 60_000;
      for (const client of [a, b, c])
        expect(await request(client, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      // Notices are filed before the `ok` that answers the update; none were.
      for (const identity of [ai, bi, ci]) {
        for (const value of await noticesIn(identity)) expect(value).not.toContain('nearby');
      }
      await Promise.all([a.close(), b.close(), c.close()]);
    });

    it('refuses a second update within the minute and an implausible jump, each with its code', async () => {
      const ai = await newIdentity();
      const a = await login(ai);
      clock += 2 * 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({
        code: 'presence_too_frequent',
        retry: true,
      });
      clock += 61_000;
      expect(await request(a, { t: 'presence', cell: BERLIN })).toMatchObject({
        code: 'implausible_move',
        retry: false,
      });
      expect(await request(a, { t: 'presence', cell: '8a1fb46622dfff' })).toMatchObject({
        code: 'invalid_field',
      });
      expect(await request(a, { t: 'presence', cell: latLngToCell(48.8584, 2.2945, 11) })).toMatchObject({
        code: 'invalid_field',
      });
      await a.close();
    });

    it('answers one of several presence updates sent at once and refuses the rest', async () => {
      const ai = await newIdentity();
      const a = await login(ai);
      clock += 2 * 60_000;
      const token = Buffer.alloc(16, 7).toString('base64url');
      const burst: Record<string, unknown>[] = [
        { t: 'presence', cell: PARIS },
        { t: 'blind', sets: [{ at: token, near: Array(7).fill(token) }] },
        { t: 'presence', cell: PARIS_NEXT_DOOR },
        { t: 'presence', cell: PARIS },
        { t: 'blind', sets: [{ at: token, near: Array(7).fill(token) }] },
      ];
      // Sent without waiting for answers: each must not read the same "last update" and pass.
      for (const frame of burst) a.send({ ...frame, rid: nextRid++ } as never);
      const answers = [];
      for (const _ of burst) answers.push(await a.nextOf('ok', 'error'));
      expect(answers.filter((f) => f.t === 'ok')).toHaveLength(1);
      expect(answers.filter((f) => f.t === 'error' && f.code === 'presence_too_frequent')).toHaveLength(4);
      await a.close();
    });

    it('keeps the jump check across blind updates', async () => {
      const ai = await newIdentity();
      const a = await login(ai);
      clock += 2 * 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      clock += 61_000;
      const token = Buffer.alloc(16, 99).toString('base64url');
      expect(
        await request(a, { t: 'blind', sets: [{ at: token, near: Array(7).fill(token) }] }),
      ).toMatchObject({ t: 'ok' });
      clock += 61_000;
      expect(await request(a, { t: 'presence', cell: BERLIN })).toMatchObject({ code: 'implausible_move' });
      await a.close();
    });

    it('matches blind-mode friends by tokens, and only friends with proximity on', async () => {
      const [ai, bi, ci] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
      const [a, b, c] = await Promise.all([login(ai), login(bi), login(ci)]);
      await friends(a, ai, b, bi);
      clock += 2 * 60_000;
      const token = (n: number) => Buffer.alloc(16, n).toString('base64url');
      const near = [token(10), token(11), token(12), token(13), token(14), token(15), token(16)];
      expect(await request(a, { t: 'blind', sets: [{ at: token(1), near }] })).toMatchObject({ t: 'ok' });
      // c is no friend of a: its matching token must not make a match.
      expect(
        await request(c, { t: 'blind', sets: [{ at: token(12), near: near.map((_, i) => token(40 + i)) }] }),
      ).toMatchObject({
        t: 'ok',
      });
      expect(
        await request(b, { t: 'blind', sets: [{ at: token(13), near: near.map((_, i) => token(20 + i)) }] }),
      ).toMatchObject({
        t: 'ok',
      });
      expect(await a.next('notice')).toMatchObject({ kind: 'nearby', user: bi.id });
      expect(await b.next('notice')).toMatchObject({ kind: 'nearby', user: ai.id });
      for (const value of await noticesIn(ci)) expect(value).not.toContain('nearby');
      await Promise.all([a.close(), b.close(), c.close()]);
    });

    it('carries no cell past the window through a chain of blind updates (P3)', async () => {
      const ai = await newIdentity();
      const a = await login(ai);
      const token = (n: number) => Buffer.alloc(16, n).toString('base64url');
      const blind = {
        t: 'blind',
        sets: [{ at: token(40), near: Array.from({ length: 7 }, (_, i) => token(41 + i)) }],
      };
      clock += 2 * 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      clock += 10 * 60_000;
      expect(await request(a, blind)).toMatchObject({ t: 'ok' });
      const presenceKey = `pb:{${ai.id}}:pr`;
      expect((await dumpRedis(redis)).get(presenceKey)).toContain(PARIS);
      clock += 10 * 60_000;
      expect(await request(a, blind)).toMatchObject({ t: 'ok' });
      // The cell is 20 minutes old, past the 15-minute window: the anchor is gone with it.
      expect((await dumpRedis(redis)).get(presenceKey)).not.toContain(PARIS);
      await a.close();
    });

    it('gives every presence, token and in-range key a life no longer than the window', async () => {
      // The relay's clock is the test's here, so Redis's own expiry is checked as key TTLs; that the
      // keys are really gone once the window has passed is test/relay/social/redis.test.ts.
      const keys = await dumpRedis(redis);
      const presence = [...keys.keys()].filter((k) => /:pr$|:pu$|:tok$|pb:tok:|pb:near:/.test(k));
      expect(presence.filter((k) => k.endsWith(':pr')).length).toBeGreaterThan(0);
      expect(presence.filter((k) => k.startsWith('pb:tok:')).length).toBeGreaterThan(0);
      for (const key of presence) {
        const ttl = await redis.adminFor(key).pttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(15 * 60_000);
      }
    });
  });

  describe('shares', () => {
    async function offerTo(sender: RawClient, to: Identity, mid: string, content: string): Promise<void> {
      expect(
        (
          await sender.sendAndWait({
            t: 'send',
            to: to.id,
            mid: `${mid}-p1`,
            offer: mid,
            body: Buffer.from(content),
          })
        ).t,
      ).toBe('stored');
      sender.send({ t: 'share', to: to.id, mid, parts: 1, body: Buffer.from(`preview of ${mid}`) });
      expect(await sender.nextOf('stored', 'error')).toMatchObject({ t: 'stored', mid });
    }

    it('deliver nothing until the recipient accepts, and a rejection leaves no trace in Redis', async () => {
      const [ai, bi] = await Promise.all([newIdentity(), newIdentity()]);
      const [a, b] = await Promise.all([login(ai), login(bi)]);
      b.send({ t: 'share', to: ai.id, mid: 'early', parts: 1, body: Buffer.from('x') });
      expect(await b.next('error')).toMatchObject({ code: 'share_incomplete', retry: true, ref: 'early' });

      await offerTo(a, bi, 'lake', 'SECRET-LAKE-PHOTO');
      const offer = await b.next('offer');
      expect(offer).toMatchObject({ from: ai.id, mid: 'lake', parts: 1, auto: false });
      expect(Buffer.from(offer.body).toString()).toBe('preview of lake');
      expect(b.frames.filter((f) => f.t === 'msg')).toHaveLength(0);
      expect(await request(b, { t: 'answer', id: offer.id, accept: false })).toMatchObject({ t: 'ok' });
      expect(await a.next('receipt')).toMatchObject({ to: bi.id, mid: 'lake', status: 'rejected' });
      const dump = await dumpRedis(redis);
      const everything = [...dump.entries()].flat().join('\n');
      expect(everything).not.toContain('SECRET-LAKE-PHOTO');
      expect(everything).not.toContain('preview of lake');
      // Nothing names the share any more but the sender's `rejected` receipt, in the sender's mailbox.
      const naming = [...dump.entries()].filter(([key, value]) => `${key} ${value}`.includes('lake'));
      expect(naming.length).toBeGreaterThan(0);
      for (const [key] of naming) expect(key.startsWith(`pb:{${ai.id}}:`), key).toBe(true);
      expect(await request(b, { t: 'answer', id: offer.id, accept: true })).toMatchObject({
        code: 'unknown_offer',
      });

      await offerTo(a, bi, 'hill', 'hill content');
      const second = await b.next('offer');
      expect(await request(b, { t: 'answer', id: second.id, accept: true })).toMatchObject({ t: 'ok' });
      const msg = await b.next('msg');
      expect(Buffer.from(msg.body).toString()).toBe('hill content');
      await Promise.all([a.close(), b.close()]);
    });

    it("deliver a pre-approved friend's share in range without asking", async () => {
      const [ai, bi] = await Promise.all([newIdentity(), newIdentity()]);
      const [a, b] = await Promise.all([login(ai), login(bi)]);
      await friends(a, ai, b, bi);
      expect(await request(b, { t: 'consent', id: ai.id, proximity: true, autoAccept: true })).toMatchObject({
        t: 'ok',
      });
      clock += 2 * 60_000;
      expect(await request(a, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      expect(await request(b, { t: 'presence', cell: PARIS })).toMatchObject({ t: 'ok' });
      await a.next('notice');
      await b.next('notice');
      await offerTo(a, bi, 'picnic', 'picnic content');
      const offer = await b.next('offer');
      expect(offer).toMatchObject({ mid: 'picnic', auto: true });
      const msg = await b.next('msg');
      expect(Buffer.from(msg.body).toString()).toBe('picnic content');
      b.send({ t: 'ack', id: offer.id });
      b.send({ t: 'ack', id: msg.id });
      await Promise.all([a.close(), b.close()]);
    });
  });

  describe('contact discovery', () => {
    it('finds discoverable contacts, tells both sides of a later match, and keeps no phone number', async () => {
      const [ai, bi, ci] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
      const [a, b] = await Promise.all([login(ai), login(bi)]);
      expect(await request(a, { t: 'discover', phone: '+15550104477' })).toMatchObject({ t: 'ok' });
      const found = await request(b, { t: 'lookup', phones: ['+15550104477', '+15550109988'] });
      expect(found).toMatchObject({ t: 'lookup', ids: [ai.id, null] });
      const ticket = found.t === 'lookup' ? found.tickets[1] : null;
      expect(ticket).toMatch(/^[A-Za-z0-9_-]{22}$/);

      const c = await login(ci);
      expect(await request(c, { t: 'discover', phone: '+15550109988' })).toMatchObject({ t: 'ok' });
      expect(await b.next('notice')).toMatchObject({ kind: 'contact', user: ci.id, ticket });
      expect(await c.next('notice')).toMatchObject({ kind: 'contact', user: bi.id, ticket: null });

      expect(
        await request(b, { t: 'lookup', phones: Array.from({ length: 9 }, (_, i) => `+1555010000${i}`) }),
      ).toMatchObject({
        code: 'lookup_limited',
        retry: true,
      });
      expect(await request(b, { t: 'discover', phone: '5550104477' })).toMatchObject({
        code: 'invalid_field',
      });

      const everything = [...(await dumpRedis(redis)).entries()].flat().join('\n');
      const logs = logLines.join('');
      for (const digits of ['5550104477', '5550109988', '55501000']) {
        expect(everything).not.toContain(digits);
        expect(logs).not.toContain(digits);
      }
      await Promise.all([a.close(), b.close(), c.close()]);
    });
  });

  describe('the wire (P2)', () => {
    it('never carried a cell, token, coordinate or distance to any client in this file', () => {
      expect(RawClient.wire.length).toBeGreaterThan(50);
      const token = (n: number) => Buffer.alloc(16, n).toString('base64url');
      const secrets = [
        PARIS,
        PARIS_NEXT_DOOR,
        BERLIN,
        token(1),
        token(12),
        token(13),
        '48.858',
        '2.294',
        '52.52',
      ];
      const forbiddenFields = [
        'cell',
        'lat',
        'lon',
        'latitude',
        'longitude',
        'distance',
        'token',
        'tokens',
        'near',
        'at',
      ];
      const fieldsOf = (value: unknown): string[] =>
        typeof value === 'object' && value !== null
          ? Object.entries(value).flatMap(([k, v]) => [k, ...fieldsOf(v)])
          : [];
      for (const bytes of RawClient.wire) {
        const text = Buffer.from(bytes).toString('latin1');
        for (const secret of secrets) expect(text).not.toContain(secret);
        const header = JSON.parse(
          Buffer.from(bytes.subarray(2, 2 + ((bytes[0]! << 8) | bytes[1]!))).toString(),
        );
        // Receipts carry `at` (when a status was reached): a time, allowed; nothing else may.
        const fields = fieldsOf(header).filter((f) => !(header.t === 'receipt' && f === 'at'));
        for (const field of forbiddenFields) expect(fields).not.toContain(field);
      }
    });
  });

  describe('protocol versions', () => {
    it('speaks version 2 to clients that offer it and refuses social frames on version 1', async () => {
      const ai = await newIdentity();
      const v2 = await RawClient.connect(relay.url);
      v2.send({ t: 'hello', versions: [1, 2] });
      expect((await v2.next('challenge')).v).toBe(2);
      await v2.close();
      const v1 = await RawClient.connect(relay.url);
      await v1.authenticate(ai, 'passby', clock, [1]);
      v1.send({ t: 'friends', rid: 5 });
      expect(await v1.next('error')).toMatchObject({ code: 'unknown_type', ref: '5' });
      await v1.close();
    });
  });
});
