import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import sodium from 'libsodium-wrappers';
import { describe, expect, it } from 'vitest';
import { authMessage, toBase64url } from '../../../protocol/index.js';
import { createLogger } from '../../../relay/index.js';
import { type Identity, newIdentity, RawClient } from '../../support/raw-client.js';
import { freePort } from '../../support/redis-server.js';
import { useRelay } from '../../support/relay-fixture.js';

/** Logs in as `identity` by hand, keeping what the relay must never log: the nonce and the signature. */
async function loginKeepingSecrets(
  url: string,
  identity: Identity,
): Promise<{ client: RawClient; nonce: string; sig: string }> {
  const client = await RawClient.connect(url);
  client.send({ t: 'hello', versions: [1] });
  const { nonce } = await client.next('challenge');
  const ts = Date.now();
  const sig = toBase64url(
    sodium.crypto_sign_detached(authMessage('passby', nonce, ts, identity.pk), identity.privateKey),
  );
  client.send({ t: 'auth', pk: identity.pk, ts, sig });
  await client.next('welcome');
  return { client, nonce, sig };
}

/** Every leaf value of a log record, for "no field holds X" checks. */
function leaves(value: unknown): unknown[] {
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(leaves);
  return [value];
}

function sink(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

const SECRETS = {
  ip: '203.0.113.77',
  remoteAddress: '198.51.100.23',
  phone: '+15550104477',
  lat: 48.858370123,
  lon: 2.294481456,
  cell: '8a1fb46622dffff',
  token: 'tok-4f9a2c71e0d3',
  body: 'PAYLOAD-BYTES-7f3e',
  payload: 'PAYLOAD-BYTES-9a1b',
  secret: 'server-secret-5c2d',
  sig: 'SIGNATURE-3e8f',
  nonce: 'NONCE-77aa',
  pk: 'PUBLICKEY-1b2c',
  headers: { 'x-forwarded-for': '192.0.2.55', cookie: 'session=abc' },
  redisUrl: 'redis://:hunter2@127.0.0.1:6379',
};

describe('logs', () => {
  it('never write an IP, phone number, coordinate, cell, token, payload or secret', () => {
    const { stream, lines } = sink();
    const log = createLogger('trace', stream);
    log.info(SECRETS, 'a record holding every sensitive field');
    log
      .child({ conn: 1 })
      .error({ err: Object.assign(new Error('boom'), { command: { args: ['PAYLOAD-ARGS'] } }) }, 'failed');
    // Connection errors name the peer (ioredis: "connect ECONNREFUSED host:port") or the URL.
    const refused = Object.assign(new Error('connect ECONNREFUSED 203.0.113.9:6379'), {
      code: 'ECONNREFUSED',
      address: '203.0.113.9',
      port: 6379,
    });
    log.warn({ err: refused }, 'redis connection error');
    log.warn({ err: new Error('connect ECONNREFUSED [2001:db8::77]:6380 via fe80::1%eth0') }, 'v6');
    log.error(
      {
        err: new Error('could not connect to Redis', {
          cause: new Error('bad url rediss://admin:hunter3@198.51.100.4:6379/0 (::ffff:192.0.2.1)'),
        }),
      },
      'redis failed',
    );
    expect(lines).toHaveLength(5);
    const text = lines.join('\n');
    for (const needle of [
      '203.0.113',
      '198.51.100',
      '192.0.2.55',
      '5550104477',
      '48.858',
      '2.2944',
      '8a1fb466',
      'tok-4f9a',
      'PAYLOAD',
      'server-secret',
      'SIGNATURE',
      'NONCE-77',
      'PUBLICKEY',
      'hunter2',
      'session=abc',
      '203.0.113.9',
      '6379',
      '6380',
      '2001:db8',
      'fe80',
      'admin',
      'hunter3',
      '198.51.100.4',
      '192.0.2.1',
    ]) {
      expect(text).not.toContain(needle);
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      msg: 'a record holding every sensitive field',
    });
    // What is left still tells the operator what went wrong.
    expect(JSON.parse(lines[2]!)).toMatchObject({
      err: { type: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED <address>' },
    });
    expect(JSON.parse(lines[4]!)).toMatchObject({
      err: {
        message: 'could not connect to Redis',
        cause: { message: expect.stringContaining('rediss://') },
      },
    });
  });

  it('never write the address from a real Redis connection error', async () => {
    const port = await freePort(); // nothing listens there
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
    const failed = new Promise<Error>((resolve) => client.once('error', resolve));
    await client.connect().catch(() => {});
    const err = await failed;
    expect(err.message).toContain(`127.0.0.1:${port}`);
    const { stream, lines } = sink();
    createLogger('info', stream).warn({ err }, 'redis connection error');
    client.disconnect();
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('127.0.0.1');
    expect(lines[0]).not.toContain(String(port));
    expect(JSON.parse(lines[0]!)).toMatchObject({ err: { code: 'ECONNREFUSED' } });
  });

  describe('of a running relay', () => {
    const { stream, lines } = sink();
    const fixture = useRelay({ logLevel: 'trace' }, {}, createLogger('trace', stream));

    it('record connections, authentication, stores, deliveries, acks, expiries and errors with pseudonymous IDs only', async () => {
      const [alice, bob, carol] = await Promise.all([newIdentity(), newIdentity(), newIdentity()]);
      const rb = await loginKeepingSecrets(fixture.relay.url, bob);
      const ra = await loginKeepingSecrets(fixture.relay.url, alice);
      await (await RawClient.login(fixture.relay.url, carol)).close();
      // ws keeps the TCP socket private; its local port is the client's port as the relay sees it.
      const clientPorts = [rb.client, ra.client].map(
        (c) => (c.ws as unknown as { _socket: Socket })._socket.localPort!,
      );
      await ra.client.sendAndWait({
        t: 'send',
        to: bob.id,
        mid: 'logged',
        body: Buffer.from('SECRET-PAYLOAD-CONTENT'),
      });
      const msg = await rb.client.next('msg');
      rb.client.send({ t: 'ack', id: msg.id });
      await rb.client.next('drained');

      // A send that expires undelivered, and a bad frame.
      const short = await ra.client.sendAndWait({
        t: 'send',
        to: carol.id,
        mid: 'short',
        ttl: 1,
        body: Buffer.from('SECRET-EXPIRING-CONTENT'),
        receipt: true,
      });
      expect(short.t).toBe('stored');
      expect(await ra.client.next('receipt')).toMatchObject({ mid: 'short', status: 'expired' });
      const bad = Buffer.from('{"t":"teleport","to":"SECRET-BAD-FRAME"}');
      ra.client.sendRaw(Buffer.concat([Buffer.from([0, bad.length]), bad]));
      expect(await ra.client.next('error')).toMatchObject({ code: 'unknown_type' });

      await Promise.all([ra.client.close(), rb.client.close()]);
      await fixture.relay.close();
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const messages = records.map((r) => r.msg);
      for (const m of [
        'relay listening',
        'connection opened',
        'authenticated',
        'stored',
        'delivered',
        'acked',
        'connection closed',
      ]) {
        expect(messages).toContain(m);
      }
      expect(records).toContainEqual(expect.objectContaining({ msg: 'expired', expired: 1 }));
      expect(records).toContainEqual(
        expect.objectContaining({ msg: 'error answered', code: 'unknown_type' }),
      );

      const text = lines.join('\n');
      for (const needle of [
        'SECRET-PAYLOAD',
        'SECRET-EXPIRING',
        'SECRET-BAD-FRAME',
        '127.0.0.1',
        alice.pk,
        bob.pk,
        carol.pk,
        ra.nonce,
        rb.nonce,
        ra.sig,
        rb.sig,
        ...clientPorts.map((p) => `:${p}`),
      ]) {
        expect(text).not.toContain(needle);
      }
      const values = records.flatMap(leaves);
      for (const p of clientPorts) {
        expect(values).not.toContain(p);
        expect(values).not.toContain(String(p));
      }
      expect(text).toContain(alice.id);
    });
  });
});
