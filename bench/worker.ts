import sodium from 'libsodium-wrappers';
import type { TargetKind } from './link.js';
import { FileRecipient, type FilesCommand } from './load-files.js';
import { PairGroup, type PairsArgs } from './load-pairs.js';
import { ProximityGroup, type WaveArgs } from './load-proximity.js';
import { UserGroup, type UsersArgs } from './load-users.js';

/*
 * A load-generator process, forked by pool.ts. It holds connections between commands and answers
 * each {id, cmd, args} with {id, ok, result | error}. Every loop it runs is bounded in time; the
 * process exits when its parent goes away.
 */
export type WorkerCommand =
  | { cmd: 'pairs'; args: PairsArgs }
  | {
      cmd: 'saturate';
      args: {
        kind: TargetKind;
        group?: string;
        size: number;
        durationMs: number;
        window: number;
        settleMs: number;
      };
    }
  | {
      cmd: 'openLoop';
      args: {
        kind: TargetKind;
        group?: string;
        size: number;
        rate: number;
        durationMs: number;
        settleMs: number;
        maxOutstanding: number;
      };
    }
  | { cmd: 'closePairs'; args: { kind: TargetKind; group?: string } }
  | { cmd: 'users'; args: UsersArgs & { hold: boolean } }
  | { cmd: 'fill'; args: { perUser: number; size: number; window: number } }
  | { cmd: 'drain'; args: UsersArgs & { timeoutMs: number } }
  | { cmd: 'closeUsers'; args: Record<string, never> }
  | { cmd: 'proxSetup'; args: WaveArgs }
  | { cmd: 'proxPresence'; args: { rounds: number; window: number } }
  | { cmd: 'proxCollect'; args: { quietMs: number; capMs: number } }
  | FilesCommand;

const pairs = new Map<string, PairGroup>();
const users = new UserGroup();
const proximity = new ProximityGroup();
const files = new FileRecipient();

function group(a: { kind: TargetKind; group?: string }): PairGroup {
  const name = a.group ?? a.kind;
  let g = pairs.get(name);
  if (!g) {
    g = new PairGroup(a.kind);
    pairs.set(name, g);
  }
  return g;
}

async function handle(c: WorkerCommand): Promise<unknown> {
  switch (c.cmd) {
    case 'pairs':
      return group(c.args).open(c.args);
    case 'saturate': {
      const a = c.args;
      return group(a).saturate(a.size, a.durationMs, a.window, a.settleMs);
    }
    case 'openLoop': {
      const a = c.args;
      return group(a).openLoop(a.size, a.rate, a.durationMs, a.settleMs, a.maxOutstanding);
    }
    case 'closePairs':
      group(c.args).close();
      return null;
    case 'users':
      return users.open(c.args, c.args.hold);
    case 'fill':
      return users.fill(c.args.perUser, c.args.size, c.args.window);
    case 'drain':
      return users.drain(c.args, c.args.timeoutMs);
    case 'closeUsers':
      users.close();
      return null;
    case 'proxSetup':
      return proximity.setup(c.args);
    case 'proxPresence':
      return proximity.presence(c.args.rounds, c.args.window);
    case 'proxCollect':
      return proximity.collect(c.args.quietMs, c.args.capMs);
    case 'filesOpen':
      return files.open(c.args);
    case 'filesExpect':
      return files.expect(c.args);
    case 'filesWait':
      return files.wait();
    case 'filesClose':
      return files.close();
  }
}

await sodium.ready;
process.on('message', (m: { id: number } & WorkerCommand) => {
  handle(m).then(
    (result) => process.send?.({ id: m.id, ok: true, result }),
    (err: unknown) =>
      process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.stack : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true, result: 'ready' });
