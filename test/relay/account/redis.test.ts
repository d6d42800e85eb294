import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts, createRedisDevices } from '../../../relay/account/index.js';
import { createRedisStore, type Store } from '../../../relay/mailbox/index.js';
import { connectRedis, type RedisClient } from '../../../relay/redis/index.js';
import { createRedisSocialStore } from '../../../relay/social/index.js';
import { type RedisBackend, redisBackends } from '../../support/redis-backends.js';
import { dumpText } from '../../support/redis-inspect.js';
import { CONTRACT_LIMITS } from '../mailbox/contract.js';
import { type AccountFixture, accountContract, newId, T0 } from './contract.js';
import { MailboxPartDouble, notifierOf, SocialPartDouble } from './doubles.js';

/*
 * The account store on a real redis-server and on a real 3-primary Redis Cluster (every script
 * call on one slot: a call that was not would fail with CROSSSLOT). The mailbox's and social
 * store's new parts are test doubles (doubles.ts); their existing parts (notify, friends,
 * removeFriend) are the real Redis stores on the same Redis.
 */

describe.each(redisBackends())('on %s', (name, start) => {
  let backend: RedisBackend;
  beforeAll(async () => {
    backend = await start();
  }, 60_000);
  afterAll(async () => {
    await backend.stop();
  });

  async function open(): Promise<AccountFixture & { client: RedisClient; mailboxes: Store }> {
    await backend.flush();
    const client = connectRedis(backend.endpoint, { autoPipelining: true });
    await client.connect();
    const mailboxes = await createRedisStore({ endpoint: backend.endpoint, limits: CONTRACT_LIMITS });
    const devices = createRedisDevices(client);
    const mailbox = new MailboxPartDouble();
    const social = new SocialPartDouble(createRedisSocialStore(client));
    const accounts = createAccounts(devices, { mailbox, social, notifier: notifierOf(mailboxes) });
    return {
      client,
      mailboxes,
      devices,
      accounts,
      mailbox,
      social,
      async notices(uid) {
        const { entries } = await mailboxes.fetch(uid, 0, 0, 1000, T0);
        return entries.flatMap((e) => (e.kind === 'notice' ? [{ id: e.id, notice: e.notice }] : []));
      },
      async traces(text) {
        const found: string[] = [];
        for (const admin of backend.admins()) {
          for (const [key, values] of await dumpText(admin)) {
            if (key.includes(text)) found.push(key);
            for (const value of values) if (value.includes(text)) found.push(`${key} holds ${value}`);
          }
        }
        return found.sort();
      },
      async close() {
        await mailboxes.close();
        await client.quit();
      },
    };
  }

  accountContract(name, open);

  describe('the device index across slots', () => {
    it('replaces an orphan entry a crash left (no registry slot behind it) at the next approval', async () => {
      const f = await open();
      try {
        const [alice, a1, a2] = [newId(), newId(), newId()];
        expect(await f.devices.registerFirst(alice, 'pk', a1, T0)).toBe('ok');
        const other = newId();
        // Step 1 of an approval by `other` that died before step 2.
        await f.client.set(`pb:dev:{${a2}}`, `${other}:3`);
        expect(await f.devices.authDevice(a2, T0)).toEqual({ status: 'unknown_device' });
        expect(await f.devices.approve(alice, a2, 'box', T0, 5)).toEqual({ status: 'ok', slot: 1 });
        expect(await f.client.get(`pb:dev:{${a2}}`)).toBe(`${alice}:1`);
        expect(await f.devices.authDevice(a2, T0 + 1)).toMatchObject({ status: 'ok', uid: alice, slot: 1 });
      } finally {
        await f.close();
      }
    });

    it('deletes orphan entries in the idle sweep, and every entry naming an erased user in the erase', async () => {
      const f = await open();
      try {
        const [alice, a1, stray, kept] = [newId(), newId(), newId(), newId()];
        expect(await f.devices.registerFirst(alice, 'pk', a1, T0)).toBe('ok');
        await f.client.set(`pb:dev:{${stray}}`, `${newId()}:2`);
        await f.client.set(`pb:dev:{${kept}}`, `${alice}:4`);
        expect((await f.devices.sweepIdle(0, 0, 10)).unlinked).toEqual([]);
        expect(await f.client.get(`pb:dev:{${stray}}`)).toBeNull();
        expect(await f.client.get(`pb:dev:{${kept}}`)).toBeNull();
        expect(await f.client.get(`pb:dev:{${a1}}`)).toBe(`${alice}:0`);
        // A crash after step 1 of an approval of alice's, then an erase: the orphan goes too.
        await f.client.set(`pb:dev:{${kept}}`, `${alice}:4`);
        await f.accounts.requestErase(alice, T0);
        expect((await f.accounts.runErasures(T0, 10)).erased).toEqual([alice]);
        expect(await f.traces(alice)).toEqual([]);
      } finally {
        await f.close();
      }
    });

    it('erases users of every primary in one run, leaving the other users as they were', async () => {
      const f = await open();
      try {
        const users = Array.from({ length: 12 }, () => newId());
        for (const uid of users)
          expect(await f.devices.registerFirst(uid, 'K'.repeat(43), newId(), T0)).toBe('ok');
        const [keep, ...gone] = users;
        for (const uid of gone) await f.accounts.requestErase(uid, T0);
        expect((await f.accounts.runErasures(T0, 100)).erased.sort()).toEqual(gone.sort());
        for (const uid of gone) expect(await f.traces(uid)).toEqual([]);
        expect(await f.devices.hasDevices(keep!)).toBe(true);
        expect(await f.traces(keep!)).toHaveLength(4); // registry, pk, its device entry, seen member
      } finally {
        await f.close();
      }
    });
  });
});
