import { describe, expect, it } from 'vitest';
import { SeenSet } from '../../client-sdk/inbox.js';
import { MemoryStorage } from '../../client-sdk/index.js';

describe('seen set', () => {
  it('remembers an entry across instances that share storage', async () => {
    const storage = new MemoryStorage();
    const now = () => 1_000;
    await new SeenSet(storage, now).remember('m:AAAAAAAAAAAAAAAAAAAAAA:x', 5_000);
    const after = new SeenSet(storage, now);
    expect(await after.has('m:AAAAAAAAAAAAAAAAAAAAAA:x')).toBe(true);
    expect(await after.has('m:AAAAAAAAAAAAAAAAAAAAAA:y')).toBe(false);
  });

  it('forgets entries once the relay can no longer deliver them', async () => {
    const storage = new MemoryStorage();
    let t = 1_000;
    const seen = new SeenSet(storage, () => t);
    await seen.remember('m:a:old', 2_000);
    await seen.remember('m:a:new', 9_000);
    t = 5_000;
    expect(await seen.prune()).toBe(1);
    expect(await seen.has('m:a:old')).toBe(false);
    expect(await seen.has('m:a:new')).toBe(true);
  });
});
