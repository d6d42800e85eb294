import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientFrame,
  type Decoded,
  decodeClientFrame,
  ERRORS,
  type RelayFrame,
  splitFrame,
} from '../../../protocol/index.js';
import { type Relay, startRelay } from '../../../relay/index.js';
import { bystanderStillServed } from '../../support/bystander.js';
import { FuzzClient } from '../../support/fuzz-client.js';
import { Rng } from '../../support/fuzz-encode.js';
import { CLIENT_SAMPLES, fuzzFrame } from '../../support/fuzz-frames.js';
import { type Identity, newIdentity } from '../../support/raw-client.js';
import { useRelay } from '../../support/relay-fixture.js';

/*
 * The fuzzer's frames (test/support/fuzz-frames.ts) against real relays, one on the in-process
 * store and one on a real redis-server, from connections in every phase of a session: before
 * hello, after hello, and authenticated in versions 1, 2 and 3. After each frame a probe (a keys
 * look-up, answered in-band in every phase) proves the connection still works and bounds the
 * wait: every frame is answered, by an error from the table or by a reply, or closes the socket
 * where the protocol says it does. Bystanders exchange messages all along.
 */

const SEED = 0x11fe_2026;
/** Generous enough that neither the error limit nor the rate limit ends the run early. */
const CONFIG = {
  maxErrorsPerConnection: 1_000_000,
  sendsPerSecond: 1_000_000,
  sendBurst: 1_000_000,
  authTimeoutMs: 120_000,
};
const WAIT_MS = 5_000;
const PHASES = ['hello', 'auth', 'v1', 'v2', 'v3', 'v4'] as const;
type Phase = (typeof PHASES)[number];

/** A frame > 1 MiB: the WebSocket layer closes with 1009 before the relay sees it. */
const OVERSIZE = new Uint8Array(1024 * 1024 + 1);

const redisBacked = useRelay(CONFIG);
let inProcess: Relay;
beforeAll(async () => {
  inProcess = await startRelay({ config: CONFIG });
});
afterAll(async () => {
  await inProcess?.close();
});

interface Tally {
  frames: number;
  reconnects: number;
  faults: string[];
}

/**
 * What the relay must answer a frame with in `phase`, as far as the protocol fixes it: an error
 * with this code, a close with one of these codes, or any answer (closing only with `closes`).
 */
type Expected = { error: string } | { close: number[] } | { anything: true; closes: number[] };

const OURS = Array.from({ length: 1000 }, (_, i) => 4000 + i);

function expected(
  phase: Phase,
  decoded: Decoded<ClientFrame> | undefined,
  oversize: boolean,
  bytes: Uint8Array | undefined,
): Expected {
  if (oversize) return { close: [1009] };
  if (decoded === undefined) return { anything: true, closes: OURS };
  // PROTOCOL.md: an auth answer that does not validate fails the authentication (auth_failed).
  if (!decoded.ok && phase === 'auth' && bytes !== undefined && isAuthFrame(bytes))
    return { close: [ERRORS.auth_failed.close] };
  if (!decoded.ok) return { error: decoded.code };
  const t = decoded.frame.t;
  switch (phase) {
    case 'hello':
      // A challenge, or unsupported_version when no version is in common.
      if (t === 'hello') return { anything: true, closes: [ERRORS.unsupported_version.close] };
      return { error: t === 'auth' ? 'out_of_order' : 'auth_required' };
    case 'auth':
      if (t === 'auth') return { close: [ERRORS.auth_failed.close, ERRORS.auth_expired.close] };
      return { error: t === 'hello' ? 'out_of_order' : 'auth_required' };
    default:
      if (t === 'hello' || t === 'auth') return { error: 'out_of_order' };
      return { anything: true, closes: [] };
  }
}

/** A frame whose header parses to a JSON object with `t: "auth"`, valid or not. */
function isAuthFrame(bytes: Uint8Array): boolean {
  const split = splitFrame(bytes);
  return !('ok' in split) && split.header.t === 'auth';
}

const refusal = (code: 'malformed_frame'): Decoded<ClientFrame> => ({ ok: false, code, message: '' });

/**
 * The frame as the relay's decoder sees it. Should the decoder throw (that is test/protocol's
 * failure to report), the relay is still owed an answer: the frame goes out as one the protocol
 * fixes no answer for.
 */
function localDecode(bytes: Uint8Array): Decoded<ClientFrame> | undefined {
  try {
    return decodeClientFrame(bytes);
  } catch {
    return undefined;
  }
}

/** What answers a send, share, keys or v2 request (PROTOCOL.md): its reply, or an error naming it. */
function answerTo(frame: ClientFrame): ((f: RelayFrame) => boolean) | undefined {
  if (frame.t === 'send' || frame.t === 'share') {
    const { mid } = frame;
    return (f) =>
      (f.t === 'stored' && ('items' in f ? f.items.some((i) => i.mid === mid) : f.mid === mid)) ||
      (f.t === 'error' && f.ref === mid);
  }
  if (!('rid' in frame)) return undefined;
  const { rid } = frame;
  return (f) =>
    ((f.t === 'keys' ||
      f.t === 'ok' ||
      f.t === 'friends' ||
      f.t === 'lookup' ||
      f.t === 'devices' ||
      f.t === 'export') &&
      f.rid === rid) ||
    (f.t === 'error' && f.ref === String(rid));
}

async function connect(url: string, phase: Phase, identity: Identity): Promise<FuzzClient> {
  const client = await FuzzClient.open(url, WAIT_MS);
  if (phase === 'auth') await client.hello([1, 2, 3], WAIT_MS);
  if (phase.startsWith('v')) await client.login(identity, Number(phase.slice(1)), WAIT_MS);
  return client;
}

/** Sends `count` fuzz frames from one connection in `phase`, reconnecting when the relay closes it. */
async function fuzzConnection(url: string, phase: Phase, count: number, seed: number, tally: Tally) {
  const rng = new Rng(seed);
  const identity = await newIdentity();
  const fault = (what: string) => {
    if (tally.faults.length < 12) tally.faults.push(`${phase} (seed ${seed}): ${what}`);
  };
  const checkDecoded = (c: FuzzClient) => {
    if (c.invalid.length > 0) fault(`relay frames that failed to decode: ${c.invalid.slice(0, 3)}`);
  };
  let client = await connect(url, phase, identity);
  let rid = 1_000_000;
  for (let i = 0; i < count; i++) {
    if (client.closed) {
      checkDecoded(client);
      client = await connect(url, phase, identity);
      tally.reconnects++;
    }
    const roll = rng.next();
    const oversize = roll < 0.0005;
    const text = !oversize && roll < 0.02;
    const bytes = oversize ? OVERSIZE : fuzzFrame(rng, CLIENT_SAMPLES);
    const decoded = text ? refusal('malformed_frame') : localDecode(bytes);
    // A text message never reaches the decoder: it is malformed_frame whatever it says.
    const want = expected(phase, decoded, oversize, text ? undefined : bytes);
    const frameName = `frame ${i} ${Buffer.from(bytes.subarray(0, 80)).toString('hex')}`;
    client.sendRaw(text ? Buffer.from(bytes).toString('latin1') : bytes, !text);
    const probe = ++rid;
    client.send({ t: 'keys', rid: probe, ids: [identity.id] });
    const isAnswer = (f: RelayFrame) =>
      (f.t === 'keys' && f.rid === probe) || (f.t === 'error' && f.ref === String(probe));
    let got: RelayFrame[] | undefined;
    try {
      got = await client.until(isAnswer, WAIT_MS, `the probe after ${frameName}`);
    } catch (err) {
      fault(`silence: ${String(err)}`);
      client.ws.terminate();
      break;
    }
    tally.frames++;
    // Every error on this connection so far (the probe's own answer aside) is from the table.
    const answers = got === undefined ? client.frames.splice(0) : got.slice(0, -1);
    const errors = answers.filter((f) => f.t === 'error');
    for (const e of errors) if (!Object.hasOwn(ERRORS, e.code)) fault(`${frameName}: unknown code ${e.code}`);
    if (got === undefined) {
      const code = client.closed?.code ?? 0;
      if (!('close' in want ? want.close : 'closes' in want ? want.closes : []).includes(code))
        fault(`${frameName}: closed with ${code} ${client.closed?.reason}, expected ${JSON.stringify(want)}`);
      continue;
    }
    if ('close' in want) fault(`${frameName}: answered, expected a close ${want.close}`);
    if ('error' in want && !errors.some((e) => e.code === want.error))
      fault(`${frameName}: expected ${want.error}, got ${JSON.stringify(answers).slice(0, 300)}`);
    // A request the relay accepted from an authenticated client is answered too, maybe later.
    const answersIt = phase.startsWith('v') && decoded?.ok ? answerTo(decoded.frame) : undefined;
    if (answersIt && !answers.some(answersIt)) {
      const late = await client.until(answersIt, WAIT_MS, `the answer to ${frameName}`).catch(String);
      if (!Array.isArray(late)) fault(`${frameName}: ${late ?? `closed ${client.closed?.code}`}`);
    }
    // A hello that was accepted moved this connection on to authentication: start again.
    if (phase === 'hello' && decoded?.ok && decoded.frame.t === 'hello') await client.close(WAIT_MS);
  }
  checkDecoded(client);
  await client.close(WAIT_MS);
}

/** Fuzzes `relay` from two connections per phase while bystanders keep exchanging messages. */
async function fuzzRelay(
  url: string,
  perConnection: number,
  seed: number,
): Promise<Tally & { bystanders: number }> {
  const tally: Tally = { frames: 0, reconnects: 0, faults: [] };
  let done = false;
  let bystanders = 0;
  const watching = (async () => {
    // Bounded: the fuzz ends long before 200 rounds.
    for (let round = 0; round < 200 && !done; round++) {
      await bystanderStillServed(url);
      bystanders++;
    }
  })();
  const workers = PHASES.flatMap((phase, p) =>
    [0, 1].map((k) => fuzzConnection(url, phase, perConnection, seed + 10 * p + k, tally)),
  );
  await Promise.all(workers).finally(() => {
    done = true;
  });
  await watching;
  await bystanderStillServed(url);
  return { ...tally, bystanders: bystanders + 1 };
}

async function metricsOf(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(WAIT_MS) });
  expect(res.status).toBe(200);
  return res.text();
}

describe('live relay fuzzing', () => {
  it('answers 12,000 fuzz frames on the in-process store, in every phase, and keeps serving', async () => {
    const result = await fuzzRelay(inProcess.url, 1_000, SEED);
    expect(result.faults).toEqual([]);
    expect(result.frames).toBe(12_000);
    expect(result.bystanders).toBeGreaterThanOrEqual(2);
    expect(await metricsOf(inProcess.port)).toMatch(/^passby_errors_total\{code="invalid_field"\} [1-9]/m);
  }, 60_000);

  it('answers 12,000 fuzz frames on the Redis store, in every phase, and keeps serving', async () => {
    const result = await fuzzRelay(redisBacked.relay.url, 1_000, SEED + 1000);
    expect(result.faults).toEqual([]);
    expect(result.frames).toBe(12_000);
    expect(result.bystanders).toBeGreaterThanOrEqual(2);
    expect(await metricsOf(redisBacked.relay.port)).toMatch(
      /^passby_errors_total\{code="unknown_type"\} [1-9]/m,
    );
  }, 60_000);
});
