import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeRelayFrame } from '../../protocol/index.js';
import { FRAME_FIELDS, PROTOTYPE_NAMES } from '../support/fuzz-dictionary.js';
import { rawHeader } from '../support/fuzz-encode.js';

/*
 * The issue's crash: a frame whose `t` (or a field name, or a value) is a name of
 * Object.prototype reached a plain-object look-up in the decoder and threw, which ended the relay.
 * Every such frame must come back as a refusal with a code, never as an exception.
 */

const REFUSALS: readonly string[] = ['unknown_type', 'invalid_field', 'malformed_frame'];
const decoders = [
  ['decodeClientFrame', decodeClientFrame],
  ['decodeRelayFrame', decodeRelayFrame],
] as const;

/** A header to decode, and the dangerous name it carries. */
interface Case {
  json: string;
  name: string;
}

/**
 * Every decoder outcome that is not a refusal with one of REFUSALS, described. A client must
 * ignore header fields it does not know in relay frames (PROTOCOL.md, "Encoding"), so with
 * `relayMayIgnore` the relay decoder may also accept a frame in which the name appears nowhere.
 */
function misanswered(cases: Case[], relayMayIgnore: boolean): string[] {
  const wrong: string[] = [];
  for (const [decoder, decode] of decoders) {
    for (const { json, name } of cases) {
      try {
        const result = decode(rawHeader(json));
        if (!result.ok && REFUSALS.includes(result.code)) continue;
        const ignored =
          relayMayIgnore &&
          decoder === 'decodeRelayFrame' &&
          result.ok &&
          !JSON.stringify(result.frame).includes(JSON.stringify(name));
        if (!ignored) wrong.push(`${decoder} ${json}: ${JSON.stringify(result)}`);
      } catch (err) {
        wrong.push(`${decoder} ${json}: threw ${String(err)}`);
      }
    }
  }
  return wrong;
}

/** `{"t":t, ...}` with `rest` spliced in as JSON text (JSON.stringify cannot spell an own "__proto__"). */
const header = (t: string, rest: string) => `{"t":${JSON.stringify(t)}${rest ? `,${rest}` : ''}}`;

describe('decoding frames named after Object.prototype', () => {
  it('refuses every Object.prototype name as the frame type, with or without other fields', () => {
    const cases = PROTOTYPE_NAMES.flatMap((name) =>
      ['', '"rid":1', '"rid":1,"id":"AAAAAAAAAAAAAAAAAAAAAA","op":"request"'].map((rest) => ({
        json: header(name, rest),
        name,
      })),
    );
    expect(misanswered(cases, false)).toEqual([]);
  });

  it('refuses every Object.prototype name as a field of every frame type', () => {
    const cases: Case[] = [];
    for (const t of FRAME_FIELDS.keys()) {
      for (const name of PROTOTYPE_NAMES) {
        const key = JSON.stringify(name);
        cases.push({ json: header(t, `"rid":1,${key}:1`), name });
        cases.push({ json: header(t, `${key}:{"__proto__":{"t":"hello"}}`), name });
      }
    }
    expect(misanswered(cases, true)).toEqual([]);
  });

  it('refuses every Object.prototype name as the value of every field of every frame type', () => {
    const cases: Case[] = [];
    for (const [t, fields] of FRAME_FIELDS) {
      for (const field of fields) {
        const key = JSON.stringify(field);
        for (const name of PROTOTYPE_NAMES) {
          const value = JSON.stringify(name);
          cases.push({ json: header(t, `${key}:${value}`), name });
          cases.push({ json: header(t, `"rid":1,${key}:[${value}]`), name });
          cases.push({ json: header(t, `"rid":1,${key}:{${value}:${value}}`), name });
        }
      }
    }
    expect(misanswered(cases, true)).toEqual([]);
  });
});
