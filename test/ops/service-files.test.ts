import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../../relay/config/config.js';
import { execForm, readDockerfile } from './dockerfile-steps.js';

/*
 * The compose file and the systemd unit, checked without Docker or a running systemd: the unit by
 * `systemd-analyze verify` (part of systemd, on this machine), both by what they must say.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');
const unit = read('ops/passby.service');
const compose = read('ops/compose.yml');

/** A compose service's block: from `  name:` to the next line indented two spaces or less. */
function service(name: string): string {
  const match = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)+)`, 'm').exec(compose);
  if (!match) throw new Error(`no service ${name} in ops/compose.yml`);
  return match[1]!;
}

/** A YAML list under `command:` as its words, quotes removed. */
function command(block: string): string[] {
  const list = /command:\n((?:\s+- .*\n)+)/.exec(block)?.[1] ?? '';
  return [...list.matchAll(/- (.*)/g)].map((m) => m[1]!.trim().replace(/^"(.*)"$/, '$1'));
}

const unknown = (names: string[]) => names.filter((n) => !Object.hasOwn(VARIABLES, n));

describe('the systemd unit', () => {
  it('passes systemd-analyze verify', () => {
    const verify = spawnSync('systemd-analyze', ['verify', `${ROOT}ops/passby.service`], {
      encoding: 'utf8',
    });
    expect({ status: verify.status, output: `${verify.stdout}${verify.stderr}`.trim() }).toEqual({
      status: 0,
      output: '',
    });
  });

  it('starts what the container starts, as its own user, reloading TLS on systemctl reload', () => {
    const cmd = execForm(
      readDockerfile(ROOT)
        .find((s) => s.name === 'runtime')!
        .instructions.find((i) => i.op === 'CMD')!.args,
    );
    expect(/^ExecStart=(.*)$/m.exec(unit)?.[1]).toBe(`/usr/bin/${cmd.join(' ')}`);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(/^User=(.*)$/m.exec(unit)?.[1]).toBe('passby');
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
  });

  it('has an example environment file that sets only known variables', () => {
    const names = [...read('ops/passby.env.example').matchAll(/^#?\s*(PASSBY_\w+)=/gm)].map((m) => m[1]!);
    expect(names).toContain('PASSBY_DISCOVERY_SECRET');
    expect(unknown(names)).toEqual([]);
  });
});

describe('the compose file', () => {
  it('runs the relay from the Dockerfile on Redis, with only known variables', () => {
    const relay = service('relay');
    expect(relay).toContain('dockerfile: Dockerfile');
    expect(relay).toMatch(/condition: service_healthy/);
    const names = [...relay.matchAll(/^\s+(PASSBY_\w+):/gm)].map((m) => m[1]!);
    expect(names).toContain('PASSBY_REDIS_URL');
    expect(unknown(names)).toEqual([]);
  });

  it('keeps Redis with AOF on, and the presence store with no persistence at all', () => {
    const redis = command(service('redis'));
    expect(redis.slice(redis.indexOf('--appendonly'), redis.indexOf('--appendonly') + 2)).toEqual([
      '--appendonly',
      'yes',
    ]);
    expect(service('redis')).toContain('redis-data:/data');
    const presence = command(service('presence'));
    expect(presence).toEqual(['redis-server', '--appendonly', 'no', '--save', '']);
    expect(service('presence')).not.toContain('volumes:');
  });
});
