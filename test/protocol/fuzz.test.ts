import { describe, expect, it } from 'vitest';
import {
  type ClientFrame,
  type Decoded,
  decodeClientFrame,
  decodeRelayFrame,
  ERRORS,
  encodeFrame,
  type RelayFrame,
} from '../../protocol/index.js';
import { Rng } from '../support/fuzz-encode.js';
import { CLIENT_SAMPLES, fuzzFrame, RELAY_SAMPLES, type Sample } from '../support/fuzz-frames.js';
import { brokenRule, sameValue } from '../support/fuzz-rules.js';

/*
 * The decoders under fuzz with a fixed seed, every run: 110,000 frames built from valid frames of
 * every type (mutated), from the dictionary of dangerous names and edge values, and from random
 * bytes (test/support/fuzz-frames.ts). A failure names the frame's index and bytes; the same seed
 * builds the same frames again.
 */

const SEED = 0x5eed_2026;

type Direction = 'client' | 'relay';

interface Outcome {
  /** What broke a rule, for the first few frames that did. */
  failures: string[];
  /** Accepted frames by type. */
  accepted: Map<string, number>;
  /** Refusals by code. */
  refused: Map<string, number>;
}

/** The codes a decoder may answer: what is wrong with the bytes themselves, never a session's state. */
const DECODE_CODES: Record<Direction, ReadonlySet<string>> = {
  client: new Set(['malformed_frame', 'unknown_type', 'invalid_field', 'payload_too_large']),
  relay: new Set(['malformed_frame', 'unknown_type', 'invalid_field']),
};

const hex = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 120)).toString('hex');

function fuzz(
  direction: Direction,
  decode: (bytes: Uint8Array) => Decoded<ClientFrame | RelayFrame>,
  samples: readonly Sample[],
  runs: number,
  seed: number,
): Outcome {
  const rng = new Rng(seed);
  const outcome: Outcome = { failures: [], accepted: new Map(), refused: new Map() };
  const fault = (i: number, bytes: Uint8Array, what: string) => {
    if (outcome.failures.length < 10)
      outcome.failures.push(`frame ${i} (seed ${seed}) ${hex(bytes)}: ${what}`);
  };
  for (let i = 0; i < runs; i++) {
    const bytes = fuzzFrame(rng, samples);
    let result: Decoded<ClientFrame | RelayFrame>;
    try {
      result = decode(bytes);
    } catch (err) {
      fault(i, bytes, `threw ${String(err)}`);
      continue;
    }
    if (!result.ok) {
      if (!DECODE_CODES[direction].has(result.code) || !Object.hasOwn(ERRORS, result.code))
        fault(i, bytes, `refused with ${result.code}`);
      if (typeof result.message !== 'string' || result.message.length === 0) fault(i, bytes, 'no message');
      outcome.refused.set(result.code, (outcome.refused.get(result.code) ?? 0) + 1);
      continue;
    }
    const frame = result.frame;
    outcome.accepted.set(frame.t, (outcome.accepted.get(frame.t) ?? 0) + 1);
    const broken = brokenRule(direction, frame);
    if (broken !== null) fault(i, bytes, `accepted ${JSON.stringify(frame)}: ${broken}`);
    try {
      const again = decode(encodeFrame(frame));
      if (!again.ok || !sameValue(again.frame, frame))
        fault(i, bytes, `re-encoded ${JSON.stringify(frame)} decodes to ${JSON.stringify(again)}`);
    } catch (err) {
      fault(i, bytes, `re-encoding ${JSON.stringify(frame)} threw ${String(err)}`);
    }
  }
  return outcome;
}

const sorted = (m: Map<string, number>) => [...m.keys()].sort();
const types = (samples: readonly Sample[]) => [...new Set(samples.map((s) => String(s.header.t)))].sort();

describe('decoder fuzzing', () => {
  it('never throws on 70,000 client frames, and accepts only frames that keep their rules and re-encode', () => {
    const outcome = fuzz('client', decodeClientFrame, CLIENT_SAMPLES, 70_000, SEED);
    expect(outcome.failures).toEqual([]);
    // The fuzzer reached every type with frames the decoder accepted, and every refusal code.
    expect(sorted(outcome.accepted)).toEqual(types(CLIENT_SAMPLES));
    expect(sorted(outcome.refused)).toEqual([...DECODE_CODES.client].sort());
  });

  it('never throws on 40,000 relay frames, and accepts only frames that keep their rules and re-encode', () => {
    const outcome = fuzz('relay', decodeRelayFrame, RELAY_SAMPLES, 40_000, SEED + 1);
    expect(outcome.failures).toEqual([]);
    expect(sorted(outcome.accepted)).toEqual(types(RELAY_SAMPLES));
    expect(sorted(outcome.refused)).toEqual([...DECODE_CODES.relay].sort());
  });

  it('refuses client frames sent to a client and relay frames sent to the relay, without throwing', () => {
    const relaySide = fuzz('relay', decodeRelayFrame, CLIENT_SAMPLES, 5_000, SEED + 2);
    const clientSide = fuzz('client', decodeClientFrame, RELAY_SAMPLES, 5_000, SEED + 3);
    expect(relaySide.failures).toEqual([]);
    expect(clientSide.failures).toEqual([]);
  });
});
