import type { Report } from './report.js';
import { human, micros } from './stats.js';
import { grid } from './table.js';

/** The scale-out section of the human report. */
export function scaleoutLines(s: Report['scaleout']): string[] {
  if (!s.available) return [];
  const x = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${human(v)}x`);
  const rows = s.cases.map((c) => [
    `${c.relays} relay${c.relays > 1 ? 's' : ''}`,
    c.backend,
    human(c.msgsPerSec),
    micros(c.relayCpuMicrosPerMsg),
    micros(c.redisCpuMicrosPerMsg),
    c.redisNodeCpuMicrosPerMsg.map((v) => micros(v)).join(' '),
    human(c.redisCommandsPerMsg),
    human(c.messagePathCommandsPerMsg),
    micros(c.generatorCpuMicrosPerMsg),
    `${c.lost}/${c.duplicated}`,
  ]);
  const bg = s.background;
  const cap = s.capacity;
  const out = [
    '',
    `Scale-out (passby, ${s.payloadBytes} B, ${s.pairs} pairs; cluster: ${s.primaries} primaries, ${s.replicas} replicas;`,
    '  per delivered message: relay cpu over both relays of the set-up, redis cpu over every primary',
    '  (/proc) and per primary (INFO cpu), commands incl. Lua over every primary, and less the',
    "  set-up's idle rate (the sweep's probes of every slot shard, which do not grow with traffic))",
    ...grid(
      [
        'relays',
        'redis',
        'msg/s',
        'relay cpu',
        'redis cpu',
        'per primary',
        'cmds',
        'less idle',
        'generator',
        'lost/dup',
      ],
      rows,
    ),
    `  cluster / standalone: 1 relay ${x(s.oneRelay?.throughputRatio)} msg/s, ` +
      `${x(s.oneRelay?.commandsPerMsgRatio)} commands/msg (${x(s.oneRelay?.messagePathCommandsPerMsgRatio)} less idle), ` +
      `${x(s.oneRelay?.relayCpuPerMsgRatio)} relay cpu/msg; ` +
      `2 relays ${x(s.twoRelays?.throughputRatio)} msg/s, ${x(s.twoRelays?.commandsPerMsgRatio)} commands/msg ` +
      `(${x(s.twoRelays?.messagePathCommandsPerMsgRatio)} less idle), ` +
      `${x(s.twoRelays?.relayCpuPerMsgRatio)} relay cpu/msg`,
    `  idle (all pairs connected, nothing sent): standalone ${human(bg.standalone.commandsPerSec)} commands/s, ` +
      `cluster ${human(bg.cluster.commandsPerSec)} commands/s, redis cpu per primary ` +
      `${bg.cluster.nodeCpuMicrosPerSec.map((v) => `${micros(v)}/s`).join(' ')} (standalone ` +
      `${micros(bg.standalone.nodeCpuMicrosPerSec[0])}/s); relays ${micros(bg.standalone.relayCpuMicrosPerSec)}/s ` +
      `on standalone, ${micros(bg.cluster.relayCpuMicrosPerSec)}/s on the cluster`,
  ];
  if (cap) {
    out.push(
      `  one core carries: a relay ${human(cap.perRelayCore)} msg/s, a primary ${human(cap.perPrimaryCore)} msg/s, ` +
        `a load generator ${human(cap.perGeneratorCore)} msg/s; projected (each process on its own core):`,
      `  ${cap.grid
        .filter((g) => g.primaries === 3 || g.relays === 8)
        .map((g) => `${g.relays}r x ${g.primaries}p ${human(g.msgsPerSec)} (${g.bottleneck})`)
        .join(', ')}`,
    );
  }
  return out;
}
