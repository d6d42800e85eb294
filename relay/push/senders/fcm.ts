import { importPKCS8, SignJWT } from 'jose';
import type { PushRegistration } from '../../../protocol/index.js';
import { type Outcome, outcomeOf, outcomeOfError, type Sender } from './outcome.js';

/*
 * Firebase Cloud Messaging, HTTP v1: the service account's key signs a JWT (RS256, jose) that is
 * exchanged at the account's token_uri for an OAuth2 access token (kept until a minute before it
 * expires), then POST <endpoint>/v1/projects/<project>/messages:send with a data message holding
 * one fixed key, so a wake-up says nothing (DESIGN P9).
 */

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

export interface ServiceAccount {
  project_id: string;
  private_key_id?: string;
  private_key: string;
  client_email: string;
  token_uri: string;
}

/** The fields the relay needs of a service-account JSON file; a message naming what is missing. */
export function readServiceAccount(json: string): ServiceAccount | string {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return 'is not JSON';
  }
  for (const field of ['project_id', 'private_key', 'client_email', 'token_uri'])
    if (typeof v[field] !== 'string' || v[field] === '') return `has no ${field}`;
  return v as unknown as ServiceAccount;
}

export function fcmSender(account: ServiceAccount, endpoint: string, timeoutMs: number): Sender {
  const keyPromise = importPKCS8(account.private_key, 'RS256');
  let token: { value: string; until: number } | null = null;
  let pending: Promise<string> | null = null;

  async function exchange(): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const header: { alg: string; typ: string; kid?: string } = { alg: 'RS256', typ: 'JWT' };
    if (account.private_key_id) header.kid = account.private_key_id;
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader(header)
      .setIssuer(account.client_email)
      .setAudience(account.token_uri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await keyPromise);
    const res = await fetch(account.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) {
      await res.body?.cancel();
      throw Object.assign(new Error(`token exchange answered ${res.status}`), { status: res.status });
    }
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new Error('token exchange gave no access_token');
    const life = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    token = { value: body.access_token, until: Date.now() + Math.max(0, life - 60) * 1000 };
    return token.value;
  }

  function accessToken(): Promise<string> {
    if (token !== null && token.until > Date.now()) return Promise.resolve(token.value);
    pending ??= exchange().finally(() => {
      pending = null;
    });
    return pending;
  }

  const url = `${endpoint.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(account.project_id)}/messages:send`;
  return {
    kind: 'fcm',
    async send(r: PushRegistration): Promise<Outcome> {
      if (r.kind !== 'fcm') throw new TypeError('not an FCM registration');
      try {
        const bearer = await accessToken();
        const res = await fetch(url, {
          method: 'POST',
          headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            message: { token: r.token, data: { w: '1' }, android: { priority: 'high' } },
          }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel();
        // A token the service refused (401) is dropped so the next send exchanges a new one.
        if (res.status === 401) token = null;
        return outcomeOf(res.status === 401 ? 503 : res.status, res.headers.get('retry-after'));
      } catch (err) {
        const status = (err as { status?: unknown }).status;
        if (typeof status === 'number')
          return outcomeOf(status === 404 || status === 410 ? 503 : status, null);
        return outcomeOfError(err);
      }
    },
    close() {},
  };
}
