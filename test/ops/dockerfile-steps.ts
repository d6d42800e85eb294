import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The Dockerfile's build steps as a script, for a machine without a Docker engine: each stage is
 * a directory, WORKDIR is that directory, COPY copies from the build context (or another stage's
 * directory with --from), RUN runs through `sh -c` there with the ENV set so far. What a script
 * cannot imitate (FROM's base image, USER, EXPOSE, HEALTHCHECK, CMD) is recorded for the test to
 * check or run. Only the instructions passby's Dockerfile uses are understood; any other fails.
 */
export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const raw of logical) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`cannot read Dockerfile line: ${line}`);
    const [, op, args] = match as unknown as [string, string, string];
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot read FROM ${args}`);
      stages.push({ base: from[1]!, name: from[2] ?? String(stages.length), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`${op} before FROM`);
    stage.instructions.push({ op, args });
  }
  return stages;
}

/** A JSON exec form (["node", "-e", ...]) as its argument list. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`not an exec form: ${args}`);
  return parsed;
}

export interface BuiltStage {
  readonly dir: string;
  readonly env: Record<string, string>;
  readonly instructions: Instruction[];
}

/**
 * Runs every stage in `root` (one directory per stage) with `context` as the build context;
 * throws with the command's output when a RUN fails. `extraEnv` is given to every RUN (the test
 * passes npm's offline preference, which changes nothing but the time).
 */
export function runStages(
  stages: readonly Stage[],
  context: string,
  root: string,
  extraEnv: NodeJS.ProcessEnv,
): Map<string, BuiltStage> {
  const built = new Map<string, BuiltStage>();
  for (const stage of stages) {
    const dir = join(root, stage.name);
    mkdirSync(dir, { recursive: true });
    const env: Record<string, string> = {};
    for (const { op, args } of stage.instructions) {
      if (op === 'WORKDIR' || op === 'USER' || op === 'EXPOSE' || op === 'HEALTHCHECK' || op === 'CMD')
        continue;
      if (op === 'ENV') {
        const kv = /^(\w+)=(\S*)$/.exec(args);
        if (!kv) throw new Error(`cannot read ENV ${args}`);
        env[kv[1]!] = kv[2]!;
      } else if (op === 'COPY') {
        copy(args, context, dir, built);
      } else if (op === 'RUN') {
        const result = spawnSync('sh', ['-c', args], {
          cwd: dir,
          env: { ...extraEnv, ...env },
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        });
        if (result.status !== 0)
          throw new Error(`RUN ${args} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
      } else {
        throw new Error(`instruction ${op} is not understood by this script`);
      }
    }
    built.set(stage.name, { dir, env, instructions: stage.instructions });
  }
  return built;
}

function copy(args: string, context: string, dir: string, built: Map<string, BuiltStage>): void {
  const words = args.split(/\s+/);
  let from = context;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    const stage = /^--from=(.+)$/.exec(flag);
    if (stage) {
      const source = built.get(stage[1]!);
      if (!source) throw new Error(`COPY --from an unknown stage: ${stage[1]}`);
      from = source.dir;
    }
  }
  const dest = words.pop()!;
  for (const source of words) {
    // Paths inside another stage are given from its WORKDIR (/app); a stage directory is that.
    const relative = from === context ? source : source.replace(/^\/app\/?/, '');
    const target = dest.endsWith('/') ? join(dir, dest, relative.split('/').at(-1)!) : join(dir, dest);
    cpSync(join(from, relative), target, { recursive: true, preserveTimestamps: true });
  }
}

export function readDockerfile(root: string): Stage[] {
  return parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
}
