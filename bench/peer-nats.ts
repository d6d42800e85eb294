import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { track, trackDir } from './children.js';
import { freePort } from './net.js';
import { cpuMicros, rssBytes } from './proc-stats.js';

/*
 * Peer 3, what a team would pick for durable per-user delivery: NATS JetStream. The bench starts
 * its own nats-server (never the shared one on 4222) on a free loopback port with a store
 * directory of its own, JetStream on, no cluster and no monitoring port, and creates one stream:
 *
 *   BENCH   subjects bench.u.>   work-queue retention (a message is deleted once acked)
 *           file storage, max age 30 days, duplicate window 2 min (publishes carry a msgID)
 *
 * Each user has the subject bench.u.<id> and a durable pull consumer named by its id, filtered
 * on that subject, with explicit acks (link-nats.ts creates both when a user connects).
 * nats-server 2.9 acknowledges a publish once the message is in its file store; it fsyncs on
 * its own interval (2 min by default), where the bench's Redis fsyncs its AOF every second.
 */
export const NATS_STREAM = 'BENCH';
export const NATS_SUBJECT_PREFIX = 'bench.u.';
const MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

/** The consumer config of one user's mailbox: durable, filtered on its subject, explicit acks. */
export function mailboxConsumer(id: string) {
  return { durable_name: id, filter_subject: `${NATS_SUBJECT_PREFIX}${id}`, ack_policy: AckPolicy.Explicit };
}

export interface NatsServer {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  cpuMicros(): number;
  rssBytes(): number;
  /** Messages still in the stream (with work-queue retention: stored and not yet acked). */
  messagesLeft(): Promise<number>;
  stop(): Promise<void>;
}

/** The nats-server binary: the Debian package puts it in /usr/sbin, which is not always on PATH. */
export function natsServerBinary(): string {
  return existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
}

/** `nats-server --version`, or 'unknown'. */
export function natsServerVersion(): string {
  try {
    return execFileSync(natsServerBinary(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export async function startNats(): Promise<NatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'passby-bench-nats-'));
  const removeDir = trackDir(dir);
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
  const child = track(spawn(natsServerBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  const stop = async () => {
    await kill(child);
    removeDir();
  };
  try {
    await ready(child, 15_000);
    const url = `nats://127.0.0.1:${port}`;
    const nc = await connect({ servers: url, reconnect: false, name: 'bench-admin' });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: NATS_STREAM,
      subjects: [`${NATS_SUBJECT_PREFIX}>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_age: nanos(MAX_AGE_MS),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
    const pid = child.pid ?? -1;
    return {
      name: 'nats',
      pid,
      port,
      url,
      cpuMicros: () => cpuMicros(pid),
      rssBytes: () => rssBytes(pid),
      messagesLeft: async () => (await jsm.streams.info(NATS_STREAM)).state.messages,
      stop: async () => {
        await nc.close().catch(() => {});
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Resolves once nats-server logs that it is ready (it logs to stderr). */
function ready(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => finish(new Error(`nats-server not ready in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`nats-server exited (${code ?? signal}):\n${output}`));
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('Server is ready')) finish(null);
    };
    function finish(err: Error | null) {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      child.stderr?.off('data', onData);
      // Keep reading so a chatty server never blocks on a full pipe.
      child.stderr?.resume();
      if (err) reject(err);
      else resolve();
    }
    const onError = (err: Error) => finish(new Error(`nats-server did not start: ${err.message}`));
    child.once('exit', onExit);
    child.once('error', onError);
    child.stderr?.on('data', onData);
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
