import type { ErrorCode } from './errors.js';
import { USER_ID_PATTERN } from './limits.js';

export type Decoded<F> = { ok: true; frame: F } | DecodeFailure;

export interface DecodeFailure {
  ok: false;
  code: ErrorCode;
  message: string;
  /** The `mid` or `rid` of the frame, when it could be read, so the answer can name it. */
  ref?: string;
}

export function fail(code: ErrorCode, message: string, ref?: string): DecodeFailure {
  return ref === undefined ? { ok: false, code, message } : { ok: false, code, message, ref };
}

export function noBody<F>(body: Uint8Array, result: Decoded<F>): Decoded<F> {
  if (result.ok && body.length > 0) return fail('invalid_field', 'this frame type carries no body');
  return result;
}

export function onlyFields(h: Record<string, unknown>, allowed: readonly string[]): string | null {
  for (const key of Object.keys(h)) if (!allowed.includes(key)) return key;
  return null;
}

/** A safe integer in [min, max]; not -0, which JSON can spell but never re-encodes (it writes 0). */
export function isSafeInt(value: unknown, min: number, max: number): value is number {
  return (
    typeof value === 'number' &&
    Number.isSafeInteger(value) &&
    value >= min &&
    value <= max &&
    !Object.is(value, -0)
  );
}

export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && USER_ID_PATTERN.test(value);
}
