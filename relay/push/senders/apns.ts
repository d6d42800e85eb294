import { type ClientHttp2Session, connect, constants } from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import type { PushRegistration } from '../../../protocol/index.js';
import { type Outcome, outcomeOf, outcomeOfError, type Sender } from './outcome.js';

/*
 * Apple Push Notification service over HTTP/2 (node:http2), with a provider token: an ES256 JWT
 * (jose) of the team and key IDs, made again every 40 minutes (Apple refuses one older than an
 * hour, and one renewed more often than every 20 minutes). A background push by default
 * (content-available, priority 5), or an alert the app's notification service extension turns
 * into a fetch; both carry the same constant body (DESIGN P9).
 */

const TOKEN_LIFE_MS = 40 * 60 * 1000;

export interface ApnsOptions {
  /** The .p8 key's PEM text. */
  key: string;
  keyId: string;
  teamId: string;
  /** The app's bundle ID (apns-topic). */
  topic: string;
  /** https://api.push.apple.com, or the sandbox. */
  host: string;
  pushType: 'background' | 'alert';
  /** PEM CA certificates to trust for `host` (a test's push service); null: the system's. */
  ca: string | null;
  timeoutMs: number;
}

const BODY = {
  background: JSON.stringify({ aps: { 'content-available': 1 } }),
  alert: JSON.stringify({ aps: { alert: { 'loc-key': 'PASSBY_WAKE' }, 'mutable-content': 1 } }),
};

export function apnsSender(o: ApnsOptions): Sender {
  const keyPromise = importPKCS8(o.key, 'ES256');
  let jwt: { value: string; at: number } | null = null;
  let session: ClientHttp2Session | null = null;

  async function providerToken(): Promise<string> {
    if (jwt !== null && Date.now() - jwt.at < TOKEN_LIFE_MS) return jwt.value;
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: o.keyId })
      .setIssuer(o.teamId)
      .setIssuedAt()
      .sign(await keyPromise);
    jwt = { value, at: Date.now() };
    return value;
  }

  function connection(): ClientHttp2Session {
    if (session !== null && !session.closed && !session.destroyed) return session;
    const s = connect(o.host, o.ca === null ? {} : { ca: o.ca });
    // Errors reach the request that was under way; the next send connects again.
    s.on('error', () => {});
    s.on('close', () => {
      if (session === s) session = null;
    });
    s.on('goaway', () => {
      if (session === s) session = null;
    });
    s.unref();
    session = s;
    return s;
  }

  return {
    kind: 'apns',
    async send(r: PushRegistration): Promise<Outcome> {
      if (r.kind !== 'apns') throw new TypeError('not an APNs registration');
      const token = await providerToken();
      return new Promise<Outcome>((resolve) => {
        let settled = false;
        const done = (outcome: Outcome) => {
          if (settled) return;
          settled = true;
          resolve(outcome);
        };
        try {
          const req = connection().request({
            [constants.HTTP2_HEADER_METHOD]: 'POST',
            [constants.HTTP2_HEADER_PATH]: `/3/device/${r.token}`,
            authorization: `bearer ${token}`,
            'apns-topic': o.topic,
            'apns-push-type': o.pushType,
            'apns-priority': o.pushType === 'background' ? '5' : '10',
            'apns-expiration': String(Math.floor(Date.now() / 1000) + 86_400),
            'content-type': 'application/json',
          });
          req.setTimeout(o.timeoutMs, () => {
            req.close(constants.NGHTTP2_CANCEL);
            done({ status: 'retry', reason: 'timeout', afterMs: null });
          });
          req.on('response', (headers) => {
            const status = Number(headers[constants.HTTP2_HEADER_STATUS]);
            const retryAfter = headers['retry-after'];
            done(outcomeOf(status, typeof retryAfter === 'string' ? retryAfter : null));
            req.resume();
          });
          req.on('error', (err) => done(outcomeOfError(err)));
          req.on('close', () => done({ status: 'retry', reason: 'network', afterMs: null }));
          req.end(BODY[o.pushType]);
        } catch (err) {
          done(outcomeOfError(err));
        }
      });
    },
    close() {
      session?.close();
      session = null;
    },
  };
}
