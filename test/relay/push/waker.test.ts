import { describe, expect, it } from 'vitest';
import type { PushKind, PushRegistration } from '../../../protocol/index.js';
import {
  createMemoryPushStore,
  type FailReason,
  type Outcome,
  type Sender,
  Waker,
} from '../../../relay/push/index.js';
import { createLogger } from '../../../relay/telemetry/index.js';
import { waitFor } from '../../support/poll.js';

/*
 * The waker on the in-process push store with senders that answer as told: what it costs when a
 * push service hangs (bounded), and how often it tries.
 */

const reg: PushRegistration = { kind: 'fcm', token: 't' };

function counting() {
  const failed = new Map<FailReason, number>();
  return {
    sent: 0,
    coalesced: 0,
    failed,
    metrics: {
      sent() {},
      failed: (r: FailReason) => failed.set(r, (failed.get(r) ?? 0) + 1),
      coalesced() {},
    },
  };
}

async function wakerWith(send: () => Promise<Outcome>, options: { maxQueue?: number; concurrency?: number }) {
  const store = createMemoryPushStore();
  let calls = 0;
  const sender: Sender = {
    kind: 'fcm',
    send: () => {
      calls++;
      return send();
    },
    close() {},
  };
  const c = counting();
  const waker = new Waker({
    store,
    senders: new Map<PushKind, Sender>([['fcm', sender]]),
    allHere: () => false,
    metrics: c.metrics,
    log: createLogger('silent'),
    coalesceMs: 60_000,
    backoffMs: 1,
    ...options,
  });
  return { store, waker, counts: c, calls: () => calls };
}

describe('the waker', () => {
  it('holds at most its queue while a push service hangs, counting the rest as overflow', async () => {
    const { store, waker, counts, calls } = await wakerWith(() => new Promise<Outcome>(() => {}), {
      maxQueue: 20,
      concurrency: 4,
    });
    for (let i = 0; i < 100; i++) await store.register(`u${i}`, 0, reg);
    for (let i = 0; i < 100; i++) waker.filed(`u${i}`);
    await waitFor('the sends under way', () => calls() === 4, { timeoutMs: 2_000 });
    expect(waker.size).toBe(20);
    expect(counts.failed.get('overflow')).toBe(80);
    waker.stop();
  });

  it('tries a failing push service a bounded number of times', async () => {
    const { store, waker, counts, calls } = await wakerWith(
      async () => ({ status: 'retry', reason: 'unavailable', afterMs: null }),
      {},
    );
    await store.register('u', 0, reg);
    waker.filed('u');
    await waker.idle();
    expect(calls()).toBe(4);
    expect(counts.failed.get('unavailable')).toBe(1);
    waker.stop();
  });

  it('drops the registration the push service says is gone', async () => {
    const { store, waker, counts } = await wakerWith(async () => ({ status: 'gone' }), {});
    await store.register('u', 0, reg);
    waker.filed('u');
    await waker.idle();
    await waitFor('the registration dropped', async () => (await store.list('u')).length === 0, {
      timeoutMs: 2_000,
    });
    expect(counts.failed.get('gone')).toBe(1);
    waker.stop();
  });
});
