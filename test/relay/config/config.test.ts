import { describe, expect, it } from 'vitest';
import { redisEndpointOf } from '../../../relay/config/index.js';
import { ConfigError, DEFAULTS, loadConfig, resolveConfig, VARIABLES } from '../../../relay/index.js';

describe('relay configuration', () => {
  it('uses the defaults when the environment sets nothing', () => {
    const config = loadConfig({});
    expect(config).toEqual(DEFAULTS);
    expect(config.redisUrl).toBeNull();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every documented variable', () => {
    const config = loadConfig({
      PASSBY_HOST: '127.0.0.1',
      PASSBY_PORT: '9000',
      PASSBY_REDIS_URL: 'redis://127.0.0.1:7000',
      PASSBY_RELAY_ID: 'relay.example',
      PASSBY_LOG_LEVEL: 'debug',
      PASSBY_MAX_TTL_SECONDS: '3600',
      PASSBY_MAILBOX_MAX_MESSAGES: '10',
      PASSBY_MAILBOX_MAX_BYTES: '1000000',
      PASSBY_SENDS_PER_SECOND: '5',
      PASSBY_SEND_BURST: '10',
      PASSBY_AUTH_TIMEOUT_MS: '2000',
      PASSBY_AUTH_SKEW_MS: '5000',
      PASSBY_PING_INTERVAL_MS: '1000',
      PASSBY_SWEEP_INTERVAL_MS: '100',
      PASSBY_DELIVERY_WINDOW: '8',
      PASSBY_MAX_BUFFERED_BYTES: '1048576',
      PASSBY_MAX_ERRORS: '3',
      PASSBY_SHUTDOWN_TIMEOUT_MS: '500',
      PASSBY_REDIS_COMMAND_TIMEOUT_MS: '750',
      PASSBY_SAFETY_PULL_MS: '5000',
      PASSBY_ACK_TIMEOUT_MS: '20000',
      PASSBY_CONNECTION_INFLIGHT_BYTES: '2000000',
      PASSBY_CONNECTION_INFLIGHT_OPS: '64',
      PASSBY_INFLIGHT_BYTES: '30000000',
      PASSBY_DISCOVERY_SECRET: 'a-secret-of-at-least-thirty-two-characters',
      PASSBY_DISCOVERY_TTL_SECONDS: '86400',
      PASSBY_LOOKUPS_PER_HOUR: '50',
      PASSBY_PROXIMITY_WINDOW_MS: '600000',
      PASSBY_PRESENCE_INTERVAL_MS: '30000',
      PASSBY_MAX_SPEED_KMH: '250',
    });
    expect(config).toMatchObject({
      port: 9000,
      redisUrl: 'redis://127.0.0.1:7000',
      maxTtlSeconds: 3600,
      deliveryWindow: 8,
    });
    expect(Object.keys(VARIABLES)).toHaveLength(65);
    expect(config).toMatchObject({
      redisCommandTimeoutMs: 750,
      safetyPullMs: 5000,
      ackTimeoutMs: 20000,
      connectionInflightBytes: 2_000_000,
      connectionInflightOps: 64,
      inflightBytes: 30_000_000,
    });
    expect(config).toMatchObject({ discoveryTtlSeconds: 86400, lookupsPerHour: 50, maxSpeedKmh: 250 });
  });

  it('lists every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        PASSBY_PORT: 'eighty',
        PASSBY_MAX_TTL_SECONDS: '99999999',
        PASSBY_REDIS_URL: 'http://x',
        PASSBY_LOG_LEVEL: 'loud',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(
      /PASSBY_PORT.*integer[\s\S]*PASSBY_REDIS_URL[\s\S]*PASSBY_LOG_LEVEL[\s\S]*PASSBY_MAX_TTL_SECONDS.*at most/,
    );
  });

  it('refuses combinations that cannot work', () => {
    expect(() => resolveConfig({ sendsPerSecond: 100, sendBurst: 10 })).toThrow(/PASSBY_SEND_BURST/);
    expect(() => resolveConfig({ deliveryWindow: 100, maxBufferedBytes: 65_536 })).toThrow(
      /PASSBY_MAX_BUFFERED_BYTES/,
    );
    expect(() => resolveConfig({ port: -1 })).toThrow(/PASSBY_PORT/);
    expect(() => resolveConfig({ inflightBytes: 1_000_000, connectionInflightBytes: 2_000_000 })).toThrow(
      /PASSBY_INFLIGHT_BYTES/,
    );
    expect(() => resolveConfig({ redisUrl: 'redis://127.0.0.1:6390' })).toThrow(/PASSBY_DISCOVERY_SECRET/);
    expect(() => loadConfig({ PASSBY_DISCOVERY_SECRET: 'short' })).toThrow(/at least 32 characters/);
    expect(() => resolveConfig({ discoverySecret: 'short' })).toThrow(/at least 32 characters/);
  });

  it('reads a Redis Cluster from seed URLs, and refuses what cannot be one', () => {
    const secret = 'x'.repeat(32);
    const config = loadConfig({
      PASSBY_REDIS_URL: 'redis://u:p@10.0.0.1:7000, redis://10.0.0.2:7000',
      PASSBY_REDIS_CLUSTER: '1',
      PASSBY_REDIS_WAIT_REPLICAS: '1',
      PASSBY_DISCOVERY_SECRET: secret,
    });
    expect(redisEndpointOf(config)).toEqual({
      urls: ['redis://u:p@10.0.0.1:7000', 'redis://10.0.0.2:7000'],
      cluster: true,
    });
    expect(config).toMatchObject({ redisWaitReplicas: 1, redisWaitTimeoutMs: 1_000 });
    expect(redisEndpointOf(resolveConfig())).toBeNull();
    expect(() =>
      loadConfig({ PASSBY_REDIS_URL: 'redis://a:1,redis://b:2', PASSBY_DISCOVERY_SECRET: secret }),
    ).toThrow(/PASSBY_REDIS_CLUSTER=1/);
    expect(() => loadConfig({ PASSBY_REDIS_CLUSTER: '1' })).toThrow(/needs PASSBY_REDIS_URL/);
    expect(() => loadConfig({ PASSBY_REDIS_URL: 'redis://a:1,http://b', PASSBY_REDIS_CLUSTER: '1' })).toThrow(
      /redis:\/\/ or rediss:\/\//,
    );
    expect(() =>
      resolveConfig({ redisWaitReplicas: 1, redisWaitTimeoutMs: 5_000, redisCommandTimeoutMs: 2_000 }),
    ).toThrow(/PASSBY_REDIS_WAIT_TIMEOUT_MS must be shorter/);
  });
});
