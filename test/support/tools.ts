import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Debian's Chromium, the only browser the browser tests drive (test/browser/chromium.ts). */
export const CHROMIUM = '/usr/bin/chromium';

export interface MissingTool {
  readonly name: string;
  readonly install: string;
  readonly neededBy: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, path: string): boolean {
  return path.split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)));
}

/** Where Debian's nats-server package puts the binary (not always on PATH). */
export const NATS_SERVER = '/usr/sbin/nats-server';

/**
 * The programs the suite needs that this machine lacks: redis-server on PATH for every file that
 * starts a relay on Redis, Chromium when browser tests are selected, nats-server (on PATH or in
 * /usr/sbin) when the bench's tests are.
 */
export function missingTools(options: {
  path: string;
  chromium: string;
  browser: boolean;
  bench?: boolean;
  natsServer?: string;
}): MissingTool[] {
  const missing: MissingTool[] = [];
  if (!onPath('redis-server', options.path))
    missing.push({
      name: 'redis-server',
      install: 'apt-get install redis-server',
      neededBy: 'every Redis test',
    });
  if (options.browser && !executable(options.chromium))
    missing.push({ name: options.chromium, install: 'apt-get install chromium', neededBy: 'test/browser' });
  const nats = onPath('nats-server', options.path) || executable(options.natsServer ?? NATS_SERVER);
  if (options.bench && !nats)
    missing.push({ name: 'nats-server', install: 'apt-get install nats-server', neededBy: 'test/bench' });
  return missing;
}

export function missingToolsMessage(missing: readonly MissingTool[]): string {
  const lines = missing.map((m) => `  - ${m.name} (${m.neededBy}): ${m.install}`);
  return [
    'The test suite needs programs this machine does not have:',
    ...lines,
    'Install them (.ci/run does it with apt-get) and run the tests again.',
  ].join('\n');
}
