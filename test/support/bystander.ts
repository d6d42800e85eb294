import { expect } from 'vitest';
import { newIdentity, RawClient } from './raw-client.js';

/**
 * A bystander that must not notice anything: two fresh users on the relay at `url` exchange a
 * message end to end. Call it after each abuse of the relay by another client.
 */
export async function bystanderStillServed(url: string): Promise<void> {
  const [a, b] = await Promise.all([newIdentity(), newIdentity()]);
  const rb = await RawClient.login(url, b);
  const ra = await RawClient.login(url, a);
  const answer = await ra.sendAndWait({ t: 'send', to: b.id, mid: 'ping', body: Buffer.from('still here') });
  expect(answer).toMatchObject({ t: 'stored', mid: 'ping' });
  const msg = await rb.next('msg');
  expect(Buffer.from(msg.body).toString()).toBe('still here');
  await Promise.all([ra.close(), rb.close()]);
}
