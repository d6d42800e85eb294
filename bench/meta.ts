import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { Options } from './cli.js';
import { natsServerVersion } from './peer-nats.js';

/** Where and how the figures were produced, so a reader can reproduce them. */
export interface RunMeta {
  command: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  node: string;
  uname: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  redis: string;
  nats: string;
  quick: boolean;
  rounds: number;
  runSeconds: number;
  pairs: number;
  workers: number;
  relayUrl: string | null;
  relayNodeArgs: string[];
}

export function collectMeta(o: Options, argv: readonly string[], startedAt: Date): RunMeta {
  return {
    command: ['npm run bench --', ...argv].join(' '),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    node: process.version,
    uname: run('uname', ['-a']),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    redis: run('redis-server', ['--version']),
    nats: natsServerVersion(),
    quick: o.quick,
    rounds: o.rounds,
    runSeconds: o.duration,
    pairs: o.pairs,
    workers: o.workers,
    relayUrl: o.relayUrl ?? null,
    relayNodeArgs: o.relayNodeArgs,
  };
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}
