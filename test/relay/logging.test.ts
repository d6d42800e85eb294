import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../relay/index.js';
import { newIdentity, RawClient } from '../support/raw-client.js';
import { useRelay } from '../support/relay-fixture.js';

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
    expect(lines).toHaveLength(2);
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
    ]) {
      expect(text).not.toContain(needle);
    }
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      msg: 'a record holding every sensitive field',
    });
  });

  describe('of a running relay', () => {
    const { stream, lines } = sink();
    const fixture = useRelay({ logLevel: 'debug' }, {}, createLogger('debug', stream));

    it('record connections, authentication, stores, deliveries and acks with pseudonymous IDs only', async () => {
      const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
      const rb = await RawClient.login(fixture.relay.url, bob);
      const ra = await RawClient.login(fixture.relay.url, alice);
      await ra.sendAndWait({
        t: 'send',
        to: bob.id,
        mid: 'logged',
        body: Buffer.from('SECRET-PAYLOAD-CONTENT'),
      });
      const msg = await rb.next('msg');
      rb.send({ t: 'ack', id: msg.id });
      await Promise.all([ra.close(), rb.close()]);
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
      const text = lines.join('\n');
      expect(text).not.toContain('SECRET-PAYLOAD');
      expect(text).not.toContain('127.0.0.1');
      expect(text).not.toContain(alice.pk);
      expect(text).toContain(alice.id);
    });
  });
});
