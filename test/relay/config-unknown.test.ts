import { afterEach, describe, expect, it } from 'vitest';
import { unknownVariables } from '../../relay/config.js';
import { spawnRelay, stopRelays } from '../support/relay-child.js';

afterEach(stopRelays);

describe('unknown PASSBY_ variables', () => {
  it('names each one with the known variable it most likely meant', () => {
    const found = unknownVariables({
      PASSBY_REDIS_ULR: 'redis://127.0.0.1:1',
      PASSBY_PORT: '8080',
      PASSBY_WHATEVER_ELSE: '1',
      HOME: '/root',
    });
    expect(found).toEqual([
      { name: 'PASSBY_REDIS_ULR', suggestion: 'PASSBY_REDIS_URL' },
      { name: 'PASSBY_WHATEVER_ELSE', suggestion: null },
    ]);
  });

  it('finds none when every PASSBY_ variable is known', () => {
    expect(unknownVariables({ PASSBY_PORT: '1', PASSBY_DISCOVERY_SECRET: 'x', PATH: '/bin' })).toEqual([]);
  });

  it('logs a warning at start-up with the name and never the value', async () => {
    const relay = await spawnRelay({ PASSBY_SHUTDOWN_TIMEOUT_MS_: 'value-that-must-not-be-logged' });
    const warning = relay.logs.find((r) => r.msg === 'unknown PASSBY_ variable ignored');
    expect(warning).toMatchObject({
      level: 'warn',
      variable: 'PASSBY_SHUTDOWN_TIMEOUT_MS_',
      suggestion: 'PASSBY_SHUTDOWN_TIMEOUT_MS',
    });
    expect(JSON.stringify(relay.logs)).not.toContain('value-that-must-not-be-logged');
  });
});
