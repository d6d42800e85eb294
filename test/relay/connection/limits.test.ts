import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ERRORS, encodeFrame } from '../../../protocol/index.js';
import { createLogger } from '../../../relay/index.js';
import { LogSink } from '../../support/log-sink.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { RawSocket } from '../../support/raw-socket.js';
import { useRelay } from '../../support/relay-fixture.js';

const logs = new LogSink();
const fixture = useRelay(
  { ackTimeoutMs: 300, authTimeoutMs: 400, deliveryWindow: 4, maxBufferedBytes: 4 * 66_560 },
  {},
  createLogger('info', logs.stream),
);

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${fixture.relay.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no metric ${name}`);
  return Number(line.split(' ')[1]);
}

describe('connection limits', () => {
  it('closes a client that never acknowledges its deliveries with slow_consumer after the ack timeout', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const ra = await RawClient.login(fixture.relay.url, alice);
    const rb = await RawClient.login(fixture.relay.url, bob);
    await ra.sendAndWait({ t: 'send', to: bob.id, mid: 'never-acked', body: Buffer.from('x') });
    const delivered = Date.now();
    await rb.next('msg');
    const closed = await rb.closedWith();
    expect(closed.code).toBe(ERRORS.slow_consumer.close);
    // Set off by the ack timeout (300 ms, checked as often), not by the ping timeout (30 s): the
    // bound leaves room for a loaded machine.
    expect(Date.now() - delivered).toBeLessThan(10_000);
    // A client that acks in time is left alone: alice received nothing and is still open.
    expect(ra.closed).toBeUndefined();
    await ra.close();
  });

  it('cuts a closed slow consumer off when it does not read the close frame within a second', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const ra = await RawClient.login(fixture.relay.url, alice);
    const slow = await RawSocket.open(fixture.relay.port);
    await slow.login(bob);
    slow.socket.pause();
    const before = logs.records.length;
    // Large deliveries it never reads or acks: the ack timeout closes it, with the close frame
    // behind what it has not read.
    for (let i = 0; i < 4; i++) {
      await ra.sendAndWait({ t: 'send', to: bob.id, mid: `big-${i}`, body: randomBytes(60_000) });
    }
    const cut = await logs.next(
      (r) => logs.records.indexOf(r) >= before && r.msg === 'closing handshake timed out: connection cut',
    );
    expect(cut).toMatchObject({ level: 'info' });
    // What reached the client's kernel before the cut (here the close frame too) is still read.
    slow.socket.resume();
    expect(await slow.closed()).toBe(ERRORS.slow_consumer.close);
    await ra.close();
  });

  it('drops a TCP connection that never completes the WebSocket upgrade within the auth timeout', async () => {
    const started = Date.now();
    const idle = connect(fixture.relay.port, '127.0.0.1');
    const partial = connect(fixture.relay.port, '127.0.0.1');
    partial.on('connect', () => partial.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'));
    const ended = (socket: typeof idle) =>
      new Promise<number>((resolve) => {
        socket.on('error', () => {});
        socket.on('close', () => resolve(Date.now() - started));
      });
    const [idleFor, partialFor] = await Promise.all([ended(idle), ended(partial)]);
    // The auth timeout (400 ms) plus the server's check, far from Node's 60-90 s (room for load).
    expect(idleFor).toBeLessThan(10_000);
    expect(partialFor).toBeLessThan(10_000);
  });

  it('counts closing codes in /metrics like in-band errors', async () => {
    const before = await metric('passby_errors_total{code="auth_timeout"}');
    const client = await RawClient.connect(fixture.relay.url);
    client.send({ t: 'hello', versions: [1] });
    expect((await client.closedWith()).code).toBe(ERRORS.auth_timeout.close);
    expect(await metric('passby_errors_total{code="auth_timeout"}')).toBe(before + 1);
  });

  it('logs a frame over 1 MiB as one line without a stack, and counts it as payload_too_large', async () => {
    const identity = await newIdentity();
    const client = await RawClient.login(fixture.relay.url, identity);
    const counted = await metric('passby_errors_total{code="payload_too_large"}');
    const before = logs.records.length;
    client.sendRaw(encodeFrame({ t: 'send', to: identity.id, mid: 'huge', body: randomBytes(1_100_000) }));
    expect((await client.closedWith()).code).toBe(1009);
    const record = await logs.next(
      (r) => logs.records.indexOf(r) >= before && r.msg === 'frame refused by the WebSocket layer',
    );
    expect(record).toMatchObject({ level: 'info', wsError: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    expect(JSON.stringify(record)).not.toMatch(/\bat \S+ \(/);
    expect(await metric('passby_errors_total{code="payload_too_large"}')).toBe(counted + 1);
  });
});
