import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/*
 * Preloaded into server processes the bench starts (`node --expose-gc --import tsx --import
 * <this file> ...`), so the relay needs no hook of its own. On an IPC message {type: 'heap'} it
 * runs a full GC and answers with process.memoryUsage(). {type: 'pauses-start'} starts recording
 * what stops the process's event loop (GC pauses, and the event loop's delay sampled every
 * millisecond) and {type: 'pauses'} answers with what was recorded since and stops: where a tail
 * latency comes from (bench/scenario-latency.ts). The IPC channel is unref'd so it never keeps a
 * process alive or delays its own shutdown.
 */
interface ProbeRequest {
  type: 'heap' | 'pauses-start' | 'pauses';
}

/** What held up the event loop while recording (milliseconds). */
export interface PauseFigures {
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  /** Pauses of 1 ms or longer, and their sum. */
  gcLongCount: number;
  gcLongTotalMs: number;
  /** Event-loop delay percentiles and maximum (how late a 1 ms timer ran). */
  loopP99Ms: number;
  loopP999Ms: number;
  loopMaxMs: number;
  recordedMs: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

let recording: { stop(): PauseFigures } | undefined;

function startRecording(): { stop(): PauseFigures } {
  const started = performance.now();
  const figures = { gcCount: 0, gcTotalMs: 0, gcMaxMs: 0, gcLongCount: 0, gcLongTotalMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      figures.gcCount++;
      figures.gcTotalMs += entry.duration;
      figures.gcMaxMs = Math.max(figures.gcMaxMs, entry.duration);
      if (entry.duration >= 1) {
        figures.gcLongCount++;
        figures.gcLongTotalMs += entry.duration;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  return {
    stop() {
      observer.disconnect();
      loop.disable();
      const ms = (ns: number) => ns / 1e6;
      return {
        ...figures,
        loopP99Ms: ms(loop.percentile(99)),
        loopP999Ms: ms(loop.percentile(99.9)),
        loopMaxMs: ms(loop.max),
        recordedMs: performance.now() - started,
      };
    },
  };
}

if (process.send) {
  process.on('message', (message: ProbeRequest) => {
    if (message?.type === 'heap') {
      if (gc) {
        gc();
        gc();
      }
      process.send?.({ type: 'heap', gc: gc !== undefined, ...process.memoryUsage() });
    } else if (message?.type === 'pauses-start') {
      recording?.stop();
      recording = startRecording();
      process.send?.({ type: 'pauses-start' });
    } else if (message?.type === 'pauses') {
      const figures = recording?.stop() ?? null;
      recording = undefined;
      process.send?.({ type: 'pauses', figures });
    }
  });
  // After the listener: adding a 'message' listener refs the channel again.
  process.channel?.unref();
}
