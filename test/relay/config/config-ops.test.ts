import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, unknownVariables } from '../../../relay/config/config.js';
import { spawnRelay, stopRelays } from '../../support/relay-child.js';

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

describe('operator settings: admin port, TLS, the previous discovery secret', () => {
  const secret = 'a-secret-of-at-least-thirty-two-characters';

  it('reads each of them', () => {
    const config = loadConfig({
      PASSBY_ADMIN_PORT: '9090',
      PASSBY_ADMIN_HOST: '127.0.0.2',
      PASSBY_TLS_CERT_FILE: '/etc/passby/cert.pem',
      PASSBY_TLS_KEY_FILE: '/etc/passby/key.pem',
      PASSBY_TLS_MIN_VERSION: 'TLSv1.2',
      PASSBY_DISCOVERY_SECRET: secret,
      PASSBY_DISCOVERY_SECRET_OLD: `old-${secret}`,
    });
    expect(config).toMatchObject({
      adminPort: 9090,
      adminHost: '127.0.0.2',
      tlsCertFile: '/etc/passby/cert.pem',
      tlsKeyFile: '/etc/passby/key.pem',
      tlsMinVersion: 'TLSv1.2',
      discoverySecretPrevious: `old-${secret}`,
    });
  });

  it('defaults to no admin port, no TLS, TLS 1.3 as the minimum and no previous secret', () => {
    expect(loadConfig({})).toMatchObject({
      adminPort: null,
      adminHost: '127.0.0.1',
      tlsCertFile: null,
      tlsKeyFile: null,
      tlsMinVersion: 'TLSv1.3',
      discoverySecretPrevious: null,
    });
  });

  it('refuses a lone certificate, an unknown TLS version and a previous secret without a current one', () => {
    let problems: readonly string[] = [];
    try {
      loadConfig({
        PASSBY_TLS_CERT_FILE: '/etc/passby/cert.pem',
        PASSBY_TLS_MIN_VERSION: 'TLSv1.1',
        PASSBY_DISCOVERY_SECRET_OLD: secret,
        PASSBY_ADMIN_PORT: '70000',
      });
    } catch (err) {
      if (err instanceof ConfigError) problems = err.problems;
    }
    expect(problems).toEqual([
      'PASSBY_ADMIN_PORT=70000 must be at most 65535',
      'PASSBY_TLS_MIN_VERSION="TLSv1.1" must be one of TLSv1.3, TLSv1.2',
      'PASSBY_TLS_CERT_FILE and PASSBY_TLS_KEY_FILE go together: set both or neither',
      'PASSBY_DISCOVERY_SECRET_OLD needs PASSBY_DISCOVERY_SECRET',
    ]);
  });
});
