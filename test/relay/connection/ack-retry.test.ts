import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../support/poll.js';
import { newIdentity, RawClient } from '../../support/raw-client.js';
import { redisBackends } from '../../support/redis-backends.js';
import { dumpRedis, useRelay } from '../../support/relay-fixture.js';

/*
 * Redis refuses writes (min-replicas-to-write with no replica) while the reads still work: the
 * closest a test gets to a store that fails one operation and not the next, with a real Redis.
 * On one Redis and on a Redis Cluster (3 primaries with one replica each: every primary is asked
 * for more replicas than it has).
 */
describe.each(redisBackends())('a failed ack, on %s', (_, backend) => {
  const fixture = useRelay({}, { backend });

  async function refuseWrites(refuse: boolean): Promise<void> {
    for (const admin of fixture.backend.admins())
      await admin.config('SET', 'min-replicas-to-write', refuse ? '8' : '0');
  }

  afterEach(() => refuseWrites(false));

  it('is answered store_unavailable, and the relay offers the entry again on the same connection', async () => {
    const [alice, bob] = await Promise.all([newIdentity(), newIdentity()]);
    const rb = await RawClient.login(fixture.relay.url, bob);
    const ra = await RawClient.login(fixture.relay.url, alice);
    await ra.sendAndWait({ t: 'send', to: bob.id, mid: 'once', body: Buffer.from('payload') });
    const first = await rb.next('msg');

    await refuseWrites(true);
    rb.send({ t: 'ack', id: first.id });
    const refused = await rb.next('error');
    expect(refused).toMatchObject({ code: 'store_unavailable', retry: true, ref: first.id });

    await refuseWrites(false);
    const again = await rb.next('msg');
    expect(again).toMatchObject({ id: first.id, mid: 'once', from: alice.id });
    rb.send({ t: 'ack', id: again.id });
    // The entry is gone once the second ack is recorded: only bob's identity remains.
    const bobKeys = async () =>
      [...(await dumpRedis(fixture.backend)).keys()].filter((k) => k.includes(bob.id));
    await waitFor('the second ack deleted the entry', async () => (await bobKeys()).length === 1, {
      timeoutMs: 10_000,
    });
    expect(await bobKeys()).toEqual([`pb:{${bob.id}}:pk`]);
    expect(rb.closed).toBeUndefined();
    await Promise.all([ra.close(), rb.close()]);
  });
});
