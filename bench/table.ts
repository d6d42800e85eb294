import type { TargetKind } from './link.js';
import type { Check, Report } from './report.js';
import { bytes, human, micros } from './stats.js';
import { scaleoutLines } from './table-scaleout.js';

const TARGET_LABELS: Record<TargetKind, string> = {
  passby: 'passby',
  bare: 'bare ws',
  socketio: 'socketio',
  nats: 'nats js',
};

/** The human report: one screen of aligned tables, read top to bottom. */
export function renderTable(r: Report): string {
  const m = r.meta;
  const out: string[] = [];
  out.push(
    `passby bench: ${m.quick ? 'quick, ' : ''}${m.rounds} interleaved rounds x ${m.runSeconds} s, ` +
      `${m.pairs} pairs, ${m.workers} load workers; node ${m.node}, ${m.cpus} cpus; medians of rounds`,
  );
  const tp = r.throughput.bySize;
  if (tp.length > 0) {
    out.push('', 'Throughput at saturation (delivered msg/s; server CPU per delivered message)');
    const rows = tp.map((s) => [
      s.size >= 1024 ? `${s.size / 1024} KiB` : `${s.size} B`,
      human(s.msgsPerSec.passby),
      human(s.msgsPerSec.bare),
      human(s.msgsPerSec.socketio),
      human(s.msgsPerSec.nats),
      `${human(s.ratioToBare)}x`,
      `${human(s.ratioToSocketio)}x`,
      `${human(s.ratioToNats)}x`,
      micros(s.serverCpuMicrosPerMsg.passby),
      micros(s.serverCpuMicrosPerMsg.socketio),
      micros(s.serverCpuMicrosPerMsg.nats),
      micros(s.redisCpuMicrosPerMsg.passby),
    ]);
    out.push(
      ...grid(
        [
          'payload',
          'passby',
          'bare ws',
          'socket.io',
          'nats js',
          'vs bare',
          'vs sio',
          'vs nats',
          'relay cpu',
          'sio cpu',
          'nats cpu',
          'redis cpu',
        ],
        rows,
      ),
    );
    const g = tp[0]!.generatorCpuMicrosPerMsg;
    out.push(
      `  load generator CPU per message at ${tp[0]!.size} B: passby ${micros(g.passby)}, ` +
        `bare ws ${micros(g.bare)}, socket.io ${micros(g.socketio)}, nats js ${micros(g.nats)}`,
    );
  }
  if (r.latency.byRate.length > 0) {
    out.push(
      '',
      'Latency, open loop, 256 B (from intended send time; lag = generator behind schedule;',
      '  shed = sends skipped while the target was over half a second of load behind)',
    );
    const rows: string[][] = [];
    for (const l of r.latency.byRate) {
      for (const k of ['passby', 'bare', 'socketio', 'nats'] as TargetKind[]) {
        rows.push([
          k === 'passby' ? `${l.label} (${human(l.rate)}/s)` : '',
          TARGET_LABELS[k],
          micros(l.p50[k]),
          micros(l.p99[k]),
          micros(l.p999[k]),
          micros(l.max[k]),
          micros(l.lagP99[k]),
          human(l.shed[k]),
          k === 'passby' ? `${human(l.p99RatioToBare)}x` : '',
          k === 'passby' ? `${human(l.p99RatioToSocketio)}x` : '',
          k === 'passby' ? `${human(l.p99RatioToNats)}x` : '',
        ]);
      }
    }
    out.push(
      ...grid(
        ['load', 'target', 'p50', 'p99', 'p99.9', 'max', 'lag p99', 'shed', 'vs bare', 'vs sio', 'vs nats'],
        rows,
      ),
    );
    out.push(...tailTable(r.latency.byRate));
  }
  if (r.memory.cases.length > 0) {
    out.push('', 'Idle authenticated connections (passby; growth after a full GC, per connection)');
    const rows = r.memory.cases.map((c) => [
      human(c.connections),
      String(c.relays),
      human(c.authenticated),
      human(c.failures),
      `${human(c.connectPerSec)}/s`,
      bytes(c.rssBytesPerConnection),
      bytes(c.heapBytesPerConnection),
      bytes(c.settledRssBytesPerConnection),
      bytes(c.settledHeapBytesPerConnection),
      c.settledAfterMs === null ? '-' : `${(c.settledAfterMs / 1000).toFixed(0)} s`,
      bytes(c.redisBytesPerUser),
    ]);
    out.push(
      '  RSS, heap: 1 s after the connect burst; settled: once RSS stopped moving (V8 releases what the',
      '  burst grew when its memory reducer runs), with when that was',
      ...grid(
        [
          'connections',
          'relays',
          'authed',
          'failed',
          'connect+auth',
          'RSS',
          'heap',
          'RSS settled',
          'heap settled',
          'after',
          'redis/user',
        ],
        rows,
      ),
    );
    const base = r.memory.cases[0];
    if (base?.bareSettledRssBytesPerConnection != null) {
      out.push(
        `  baseline: ${human(base.connections)} idle connections to the bare ws forwarder, settled: ` +
          `RSS ${bytes(base.bareSettledRssBytesPerConnection)}, heap ${bytes(base.bareSettledHeapBytesPerConnection)} ` +
          `per connection; passby's settled RSS / bare's: ${human(r.memory.ratioToBare)}x`,
      );
    }
  }
  if (r.drain.cases.length > 0) {
    out.push(
      '',
      'Backlog drain (passby; drain and its rate: from the first connect to the last delivery;',
      '  first-last: rate between the first and the last delivery; per message: relay cpu, redis commands)',
    );
    const rows = r.drain.cases.map((d) => [
      `${human(d.users)} x ${human(d.perUser)}`,
      human(d.stored),
      `${human(d.fillPerSec)}/s`,
      micros(d.drainMs * 1000),
      `${human(d.messagesPerSecond)}/s`,
      `${human(d.deliveryPhasePerSecond)}/s`,
      micros(d.connectMs * 1000),
      micros(d.relayCpuMicrosPerMsg),
      human(d.redisCommandsPerMsg),
      `${d.lost}/${d.duplicated}/${d.residualKeys}`,
    ]);
    out.push(
      ...grid(
        [
          'users x msgs',
          'stored',
          'park rate',
          'drain',
          'drain rate',
          'first-last',
          'all authed',
          'relay cpu',
          'redis cmds',
          'lost/dup/keys',
        ],
        rows,
      ),
    );
  }
  const rd = r.redis;
  out.push(
    '',
    `Redis per delivered message (passby, 256 B): ${human(rd.commandsPerMessage)} client-issued, ` +
      `${human(rd.commandsPerMessageIncludingLua)} including commands inside Lua ` +
      `(${Object.entries(rd.byCommandPerMessage)
        .map(([k, v]) => `${k} ${human(v)}`)
        .join(', ')}); Socket.IO peer: ${human(rd.socketioCommandsPerMessage)}`,
  );
  out.push('', ...proximityLines(r.proximity));
  out.push(...scaleoutLines(r.scaleout));
  if (r.files.available) {
    const f = r.files;
    out.push(
      '',
      `File transfer (passby SDK end to end: encrypt, chunk, store, deliver, ack, decrypt; ${human(f.bytes / 1024 / 1024)} MiB in ` +
        `${human(f.chunkBytes)} B chunks, against the same chunks over the bare ws forwarder)`,
      `  passby ${human(f.megabytesPerSecond)} MB/s, bare ws ${human(f.bareMegabytesPerSecond)} MB/s: ${human(f.ratioToBare)}x; ` +
        `per round passby ${f.rounds.passby.join(', ')}, bare ${f.rounds.bare.join(', ')}; arrived different ${f.corrupted}`,
    );
  }
  const c = r.correctness;
  out.push(
    '',
    `Correctness (passby, all scenarios): lost ${c.lost}, duplicated ${c.duplicated}, Redis keys left ${c.residualKeys}` +
      (c.residualSample.length ? ` (e.g. ${c.residualSample.join(' ')})` : ''),
    `  peers: bare ws lost ${c.peers.bare.lost} dup ${c.peers.bare.duplicated}; socket.io lost ${c.peers.socketio.lost} ` +
      `dup ${c.peers.socketio.duplicated} keys ${c.peers.socketio.residualKeys}; nats js lost ${c.peers.nats.lost} ` +
      `dup ${c.peers.nats.duplicated} messages left in the stream ${c.peers.nats.residualKeys}`,
  );
  out.push('', 'Targets (ratios from this run; 256 B unless named)');
  out.push(...grid(['figure', 'value', 'target', ''], r.checks.map(checkRow)));
  return `${out.join('\n')}\n`;
}

function proximityLines(p: Report['proximity']): string[] {
  if (!p.available) return ['Proximity: not run'];
  const left = Object.entries(p.keysLeftAfterWindow);
  return [
    `Proximity (passby, ${p.relays} relays on one Redis; window ${p.windowMs / 1000} s, presence interval 0; ` +
      `pods of 5 mutual friends, 3 of 10 pairs in range with consent;`,
    '  per update, during the presence phases: relay cpu over all relays, redis cpu, redis commands incl. Lua)',
    ...grid(
      [
        'users',
        'waves',
        'updates/s',
        'relay cpu',
        'redis cpu',
        'redis cmds',
        'setup',
        'measuring',
        'notices',
        'missed',
        'false',
        'dup',
      ],
      [
        [
          `${human(p.users)} of ${human(p.usersRequested)}${p.stoppedEarly ? ' (time cap)' : ''}`,
          String(p.waves),
          human(p.updatesPerSecond),
          micros(p.relayCpuMicrosPerUpdate),
          micros(p.redisCpuMicrosPerUpdate),
          human(p.redisCommandsPerUpdate),
          `${human(p.setupSeconds)} s`,
          `${human(p.measureSeconds)} s`,
          `${human(p.nearbyNotices)}/${human(p.expectedNotices)}`,
          human(p.missedMatches),
          human(p.falseMatches),
          human(p.duplicateNotices),
        ],
      ],
    ),
    `  setup: connect+auth ${human(p.connectSeconds)} s, friend graph ${human(p.graphFrames)} frames in ` +
      `${human(p.graphSeconds)} s (${human(p.graphFramesPerSecond)}/s, ${p.graphErrors} failed); ` +
      `${p.updates} updates (${p.rounds} per user), ${p.updateErrors} refused` +
      (p.firstError ? `; first error: ${p.firstError}` : ''),
    `  presence keys (SCAN + PTTL after each wave; a key alive at two scans counts twice): ${human(p.presenceKeysChecked)}, longest PTTL ${p.maxPresencePttlMs ?? '-'} ms ` +
      `(window ${p.windowMs} ms), ${p.presenceKeysWithoutTtl} without TTL; after the window: ` +
      (left.length ? left.map(([k, n]) => `${n} ${k}`).join(', ') : 'no keys left') +
      ' (friend lists and identities are kept by design)',
  ];
}

function checkRow(c: Check): string[] {
  const verdict = c.pass === null ? 'not measured' : c.target === '(info)' ? '' : c.pass ? 'ok' : 'MISSED';
  return [c.name, human(c.value), c.target, verdict];
}

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function grid(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].map((l) => `  ${l}`);
}

/** Where the tail comes from: each server's GC pauses and event-loop delay, passby's Redis time. */
function tailTable(byRate: Report['latency']['byRate']): string[] {
  const rows: string[][] = [];
  for (const l of byRate) {
    for (const k of ['passby', 'bare', 'socketio'] as TargetKind[]) {
      const t = l.tail?.[k];
      if (!t) continue;
      const ms = (v: number) => micros(v * 1000);
      rows.push([
        k === 'passby' ? l.label : '',
        TARGET_LABELS[k],
        `${human(t.gcPauses)} / ${human(t.gcLongPauses)}`,
        ms(t.gcTotalMs),
        ms(t.gcMaxMs),
        ms(t.loopP99Ms),
        ms(t.loopP999Ms),
        ms(t.loopMaxMs),
        t.redisCalls === null ? '' : human(t.redisCalls),
        t.redisP99Us === null ? '' : micros(t.redisP99Us),
        t.redisP999Us === null ? '' : micros(t.redisP999Us),
      ]);
    }
  }
  if (rows.length === 0) return [];
  return [
    '',
    "Where the tail comes from (per run, medians of rounds): the server process's GC pauses (all / 1 ms",
    '  or longer, their total, the longest), its event-loop delay (how late a 1 ms timer ran), and',
    "  passby's script calls in Redis (EVALSHA service time, LATENCY HISTOGRAM bucket bounds)",
    ...grid(
      [
        'load',
        'target',
        'gc pauses',
        'gc total',
        'gc max',
        'loop p99',
        'loop p99.9',
        'loop max',
        'scripts',
        'redis p99',
        'p99.9',
      ],
      rows,
    ),
  ];
}
