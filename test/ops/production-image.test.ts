import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { childEnv } from '../support/relay-child.js';
import { type BuiltStage, execForm, readDockerfile, runStages } from './dockerfile-steps.js';
import { type LoggedProcess, spawnLogged } from './logged-process.js';

/*
 * The Dockerfile's steps run as a script in a clean copy of the repository (the files git tracks
 * or would track, nothing from this checkout's node_modules or dist): there is no Docker engine
 * here. The runtime stage that comes out is then started the ways an operator would.
 */
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const BUILD_MS = 240_000;

let root: string;
let runtime: BuiltStage;
let stages: ReturnType<typeof readDockerfile>;
const started: LoggedProcess[] = [];

function cleanCopy(into: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter((f) => f !== '' && existsSync(join(REPO, f)))) {
    mkdirSync(dirname(join(into, file)), { recursive: true });
    copyFileSync(join(REPO, file), join(into, file));
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'passby-image-'));
  const context = join(root, 'context');
  cleanCopy(context);
  stages = readDockerfile(context);
  // The cache only saves the download; what is installed is what package-lock.json pins.
  const env = { ...process.env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
  runtime = runStages(stages, context, join(root, 'stages'), env).get('runtime')!;
}, BUILD_MS);

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.kill()));
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function instruction(op: string): string | undefined {
  return runtime.instructions.find((i) => i.op === op)?.args;
}

function start(command: string, args: string[]): LoggedProcess {
  const env = { ...childEnv({}), ...runtime.env };
  const p = spawnLogged(command, args, { cwd: runtime.dir, env });
  started.push(p);
  return p;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('the production image', () => {
  it('is built in two stages and runs as a non-root user from /app', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    const workdirs = stages.flatMap((s) =>
      s.instructions.filter((i) => i.op === 'WORKDIR').map((i) => i.args),
    );
    expect(workdirs).toEqual(['/app', '/app']);
    expect(instruction('USER')).toBe('node');
    expect(runtime.env.NODE_ENV).toBe('production');
  });

  it('holds the compiled JavaScript and production dependencies only', () => {
    const present = (path: string) => existsSync(join(runtime.dir, path));
    expect(present('dist/relay/main.js')).toBe(true);
    expect(
      ['node_modules/ws', 'node_modules/ioredis', 'node_modules/prom-client'].filter((p) => !present(p)),
    ).toEqual([]);
    const devOnly = [
      'node_modules/typescript',
      'node_modules/vitest',
      'node_modules/pino-pretty',
      'relay',
      'test',
    ];
    expect(devOnly.filter(present)).toEqual([]);
  });

  it('prints its version with --version', () => {
    const [node, ...args] = execForm(instruction('CMD')!);
    const out = spawnSync(node === 'node' ? process.execPath : node!, [...args, '--version'], {
      cwd: runtime.dir,
      encoding: 'utf8',
    });
    expect({ status: out.status, stdout: out.stdout }).toEqual({
      status: 0,
      stdout: `passby relay ${VERSION}\n`,
    });
  });

  it('starts with its CMD, passes its HEALTHCHECK, and exits 0 on SIGTERM', async () => {
    const [node, ...args] = execForm(instruction('CMD')!);
    const relay = start(node === 'node' ? process.execPath : node!, args);
    const listening = await relay.line('relay listening');
    expect(listening.version).toBe(VERSION);
    const check = /CMD\s+(\[.*\])$/.exec(instruction('HEALTHCHECK')!)![1]!;
    const [, ...checkArgs] = execForm(check);
    const health = spawnSync(process.execPath, checkArgs, {
      cwd: runtime.dir,
      env: childEnv({ PASSBY_PORT: String(listening.port) }),
      encoding: 'utf8',
    });
    expect(health.status).toBe(0);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    expect(relay.logs.map((r) => r.msg)).toContain('relay stopped');
  });

  it('passes SIGTERM through npm start to the relay, leaving no process behind', async () => {
    const npm = start('npm', ['start']);
    const { port } = (await npm.line('relay listening')) as { port: number };
    npm.child.kill('SIGTERM');
    await npm.exited;
    expect(npm.logs.map((r) => r.msg)).toContain('relay stopped');
    expect(await refused(port)).toBe(true);
  });
});
