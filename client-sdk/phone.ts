import { E164_PATTERN } from '../protocol/index.js';

/** Removed before a number is checked: white space (no-break spaces too), dashes and parentheses. */
const SEPARATORS = /[\s\-\u2010-\u2015()]/g;

/**
 * A phone number in E.164 (`+` and 8 to 15 digits, the first not zero), from the ways people
 * usually write one in full: white space (also no-break spaces), dashes and parentheses are
 * removed, and a leading international prefix `00` becomes `+`. Anything else is a TypeError: the
 * SDK never guesses a country, so a national number (`030 1234567`, `(415) 555-0100`) is refused
 * and the app must add the country code (it knows the user's region; the SDK does not).
 */
export function normalizePhone(input: string): string {
  if (typeof input !== 'string') throw new TypeError('a phone number must be a string');
  let phone = input.replace(SEPARATORS, '');
  if (phone.startsWith('00')) phone = `+${phone.slice(2)}`;
  if (!E164_PATTERN.test(phone)) {
    // The number itself stays out of the message: error messages end up in logs.
    throw new TypeError(
      'not a phone number in international form (expected + or 00, the country code, the number)',
    );
  }
  return phone;
}
