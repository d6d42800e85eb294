import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../../protocol/index.js';
import { createLogger, type Relay, startRelay } from '../../../relay/index.js';
import { bystanderStillServed } from '../../support/bystander.js';
import { LogSink } from '../../support/log-sink.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';

/*
 * A defect while handling a frame, made on purpose: the relay's clock (injected) throws while
 * `failing` is set, so the next frame that reads it (a send, for its rate limit) fails inside
 * its handler.
 */
let failing = false;
const logs = new LogSink();
let relay: Relay;

beforeAll(async () => {
  const now = () => {
    if (failing) throw new TypeError('clock defect');
    return Date.now();
  };
  relay = await startRelay({ config: {}, logger: createLogger('info', logs.stream), now });
});
afterAll(() => relay?.close());

describe('an error while handling one frame', () => {
  it('closes that connection with internal_error, logs it once, counts it, and the relay serves on', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const victim = await RawClient.login(relay.url, alice);
    const neighbour = await RawClient.login(relay.url, bob);
    failing = true;
    victim.send({ t: 'send', to: bob.id, mid: 'boom', body: Buffer.from('x') });
    const closed = await victim.closedWith();
    failing = false;
    expect(closed).toEqual({ code: ERRORS.internal_error.close, reason: 'internal_error' });
    const failures = logs.records.filter((r) => r.msg === 'handler failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 'error', user: alice.id, err: { message: 'clock defect' } });
    const metrics = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
    expect(metrics).toContain('passby_errors_total{code="internal_error"} 1');
    // The neighbour on the same node never noticed, and new connections are served.
    neighbour.send({ t: 'keys', rid: 7, ids: [alice.id] });
    expect((await neighbour.next('keys')).keys[alice.id]).toBe(alice.pk);
    expect(neighbour.closed).toBeUndefined();
    await bystanderStillServed(relay.url);
    await neighbour.close();
  });
});
