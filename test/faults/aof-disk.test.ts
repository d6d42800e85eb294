import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { latLngToCell } from 'h3-js';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRelay } from '../../relay/index.js';
import type { Relay } from '../../relay/server/index.js';
import { waitFor } from '../support/poll.js';
import { newIdentity, RawClient } from '../support/raw-client.js';
import { connectDevice, newDevice, signedRequest } from '../support/raw-device.js';
import { type RedisServer, startRedis } from '../support/redis-server.js';
import { TEST_DISCOVERY_SECRET } from '../support/relay-fixture.js';

/*
 * DESIGN P8, read off the disk: a Redis with AOF on (fsync always) under a relay that asks for a
 * rewrite every second (PASSBY_AOF_REWRITE_SECONDS=1). A payload's bytes are in the AOF files
 * while it waits; once it is acknowledged and a rewrite has run, no file in Redis's directory
 * holds them. A presence update's cell never reaches them at all: without PASSBY_PRESENCE_REDIS_URL
 * presence stays in the relay process.
 */

let redis: RedisServer;
let admin: Redis;
let relay: Relay;
beforeAll(async () => {
  redis = await startRedis({ persistence: true });
  admin = redis.client();
  relay = await startRelay({
    config: {
      redisUrl: redis.url,
      discoverySecret: TEST_DISCOVERY_SECRET,
      aofRewriteSeconds: 1,
      sweepIntervalMs: 100,
    },
  });
});
afterAll(async () => {
  await relay.close();
  await redis.stop();
});

/** Every byte of every file Redis keeps in its directory (the AOF base, increments, manifest). */
function onDisk(): Buffer {
  const files: Buffer[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(readFileSync(path));
    }
  };
  walk(redis.dir);
  return Buffer.concat(files);
}

const rewrites = async () => Number(/aof_rewrites:(\d+)/.exec(String(await admin.info('persistence')))?.[1]);
const rewriting = async () => /aof_rewrite_in_progress:1/.test(String(await admin.info('persistence')));

describe('what the relay deleted, on the disk', () => {
  it('keeps a payload in the AOF only until it is acknowledged and the next rewrite ran', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const receiver = await RawClient.login(relay.url, bob);
    await receiver.next('drained');
    const sender = await RawClient.login(relay.url, alice);
    const body = randomBytes(4096);
    const marker = body.subarray(1000, 1064);
    const cell = latLngToCell(48.8584, 2.2945, 10);
    sender.send({ t: 'presence', cell, rid: 1 } as never);
    expect(await sender.nextOf('ok', 'error')).toMatchObject({ t: 'ok' });
    expect(await sender.sendAndWait({ t: 'send', to: bob.id, mid: 'on-disk', body })).toMatchObject({
      t: 'stored',
    });
    const msg = await receiver.next('msg');
    // While it waits, the payload is on the disk: the check below can see it.
    expect(onDisk().includes(marker)).toBe(true);

    receiver.send({ t: 'ack', id: msg.id });
    receiver.send({ t: 'keys', rid: 2, ids: [alice.id] });
    await receiver.next('keys');
    expect(await admin.exists(`pb:{${bob.id}}:e`)).toBe(0);
    const before = await rewrites();
    await waitFor(
      'a rewrite after the ack, finished, and the old files gone',
      async () => (await rewrites()) > before && !(await rewriting()) && !onDisk().includes(marker),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const disk = onDisk();
    expect(disk.includes(marker)).toBe(false);
    expect(disk.includes(Buffer.from('on-disk'))).toBe(false);
    // The cell never went to Redis, so no file ever held it.
    expect(disk.includes(Buffer.from(cell))).toBe(false);
    await Promise.all([sender.close(), receiver.close()]);
  });

  it('keeps an erased account in the AOF only until the erase is done and the next rewrite ran', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    await (await RawClient.login(relay.url, bob)).close();
    const device = await newDevice();
    const session = await connectDevice(relay.url, device, alice);
    const body = randomBytes(4096);
    const marker = body.subarray(2000, 2064);
    expect(
      await session.client.sendAndWait({ t: 'send', to: bob.id, mid: 'erased-mid', body }),
    ).toMatchObject({
      t: 'stored',
    });
    expect(onDisk().includes(marker)).toBe(true);
    expect(onDisk().includes(Buffer.from(alice.id))).toBe(true);

    expect(await signedRequest(session, alice, 'erase')).toMatchObject({ t: 'ok' });
    await session.client.closedWith();
    await waitFor(
      'the erase',
      async () => (await admin.exists(`pb:{${alice.id}}:pk`, `pb:{${bob.id}}:e`)) === 0,
      {
        timeoutMs: 15_000,
      },
    );
    const before = await rewrites();
    await waitFor(
      'a rewrite after the erase, finished, and the old files gone',
      async () => (await rewrites()) > before && !(await rewriting()) && !onDisk().includes(marker),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const disk = onDisk();
    for (const name of [alice.id, alice.pk, device.id, device.dk])
      expect(disk.includes(Buffer.from(name))).toBe(false);
    expect(disk.includes(marker)).toBe(false);
  });
});
