import { execFileSync } from 'node:child_process';
import { createECDH, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importJWK, importSPKI, jwtVerify } from 'jose';
import webpush from 'web-push';

/*
 * Push services played by the tests, on 127.0.0.1: each records what it received (when, for
 * whom, what it checked) and answers as the test says. They check what the real services check:
 *
 *   Web Push   the VAPID JWT (RFC 8292: ES256 by the key in `k`, aud = the endpoint's origin, an
 *              exp within 24 h, a sub) and the body, decrypted (RFC 8291 aes128gcm, http_ece)
 *              with the subscription's private key made here (ECDH P-256);
 *   FCM        the OAuth2 token exchange (an RS256 assertion by the service account's key, for
 *              the token URI, with the messaging scope) and the bearer token on messages:send;
 *   APNs       HTTP/2 over TLS (a self-signed certificate made with openssl, which the relay
 *              trusts through PASSBY_APNS_CA_FILE), the ES256 provider token of the key, team
 *              and key IDs, and the apns-* headers.
 */

const require = createRequire(import.meta.url);
const ece = require('http_ece') as {
  decrypt(body: Buffer, params: { version: string; privateKey: unknown; authSecret: string }): Buffer;
};

/** What a test's push service says to one request: a status and headers, or nothing ever. */
export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

export interface Received {
  /** performance.now() when the request arrived. */
  at: number;
  /** Whom it was for: the endpoint's path, or the token. */
  to: string;
  /** The decrypted payload (Web Push), the data message (FCM) or the body (APNs). */
  payload: string;
  /** Everything the request carried, for "says nothing" checks. */
  raw: string;
}

class Recorder {
  readonly received: Received[] = [];
  private readonly answers = new Map<string, Answer[]>();
  readonly problems: string[] = [];
  /** Hanging responses, ended when the service stops. */
  readonly hanging: (() => void)[] = [];

  /** The next answers for `to`, in order; after them, 201. */
  answer(to: string, ...answers: Answer[]): void {
    this.answers.set(to, answers);
  }

  next(to: string): Answer {
    return this.answers.get(to)?.shift() ?? { status: 201 };
  }

  for(to: string): Received[] {
    return this.received.filter((r) => r.to === to);
  }
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: Server | Http2SecureServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function reply(res: ServerResponse, recorder: Recorder, answer: Answer): void {
  if (answer === 'hang') {
    recorder.hanging.push(() => res.destroy());
    return;
  }
  res.writeHead(answer.status, answer.headers ?? {}).end();
}

// ---- Web Push ----

export interface Subscription {
  endpoint: string;
  p256dh: string;
  auth: string;
  /** The endpoint's path: what `received[].to` names. */
  path: string;
}

export class WebPushService extends Recorder {
  readonly vapid = webpush.generateVAPIDKeys();
  readonly subject = 'mailto:ops@passby.test';
  private readonly keys = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: string }>();
  private server!: Server;
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.origin = `http://127.0.0.1:${await listen(this.server)}`;
  }

  /** A new subscription, as a browser's PushManager would make it. */
  subscribe(name: string): Subscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 37 + name.length) & 0xff)).toString(
      'base64url',
    );
    const path = `/push/${name}`;
    this.keys.set(path, { ecdh, auth });
    return {
      endpoint: `${this.origin}${path}`,
      p256dh: ecdh.getPublicKey().toString('base64url'),
      auth,
      path,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    const path = req.url ?? '';
    const data = await body(req);
    const problem = (what: string) => {
      this.problems.push(`${path}: ${what}`);
      res.writeHead(400).end();
    };
    const key = this.keys.get(path);
    if (req.method !== 'POST' || key === undefined) return problem('not a subscription');
    const m = /^vapid t=([^,]+), k=([A-Za-z0-9_-]+)$/.exec(String(req.headers.authorization));
    if (!m) return problem('no VAPID authorization');
    if (m[2] !== this.vapid.publicKey) return problem('another VAPID key');
    try {
      const point = Buffer.from(m[2]!, 'base64url');
      const jwk = {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      };
      const { payload } = await jwtVerify(m[1]!, await importJWK(jwk, 'ES256'), {
        audience: this.origin,
        algorithms: ['ES256'],
      });
      if (payload.sub !== this.subject) return problem('another VAPID subject');
      if (typeof payload.exp !== 'number' || payload.exp > Date.now() / 1000 + 24 * 3600)
        return problem('VAPID exp more than 24 h away');
    } catch (err) {
      return problem(`VAPID JWT does not verify: ${String(err)}`);
    }
    if (req.headers['content-encoding'] !== 'aes128gcm') return problem('not aes128gcm');
    if (!req.headers.ttl) return problem('no TTL');
    let payload: string;
    try {
      payload = ece
        .decrypt(data, { version: 'aes128gcm', privateKey: key.ecdh, authSecret: key.auth })
        .toString();
    } catch (err) {
      return problem(`body does not decrypt: ${String(err)}`);
    }
    this.received.push({
      at,
      to: path,
      payload,
      raw: `${JSON.stringify(req.headers)} ${payload} ${data.toString('latin1')}`,
    });
    reply(res, this, this.next(path));
  }

  async stop(): Promise<void> {
    for (const end of this.hanging) end();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

// ---- FCM ----

export class FcmService extends Recorder {
  readonly dir = mkdtempSync(join(tmpdir(), 'passby-fcm-'));
  readonly file = join(this.dir, 'service-account.json');
  private readonly pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private server!: Server;
  origin = '';
  readonly project = 'passby-test';
  readonly email = 'relay@passby-test.iam.gserviceaccount.com';
  /** Access tokens handed out. */
  readonly issued: string[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.origin = `http://127.0.0.1:${await listen(this.server)}`;
    writeFileSync(
      this.file,
      JSON.stringify({
        type: 'service_account',
        project_id: this.project,
        private_key_id: 'key-1',
        private_key: this.pair.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        client_email: this.email,
        token_uri: `${this.origin}/token`,
      }),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    const data = (await body(req)).toString();
    const problem = (what: string) => {
      this.problems.push(what);
      res.writeHead(400).end();
    };
    if (req.url === '/token') {
      const form = new URLSearchParams(data);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return problem('grant_type');
      try {
        const spki = this.pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
        const { payload, protectedHeader } = await jwtVerify(
          form.get('assertion') ?? '',
          await importSPKI(spki, 'RS256'),
          {
            issuer: this.email,
            audience: `${this.origin}/token`,
          },
        );
        if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') return problem('scope');
        if (protectedHeader.kid !== 'key-1') return problem('kid');
      } catch (err) {
        return problem(`assertion: ${String(err)}`);
      }
      const token = `ya29.test-${this.issued.length}`;
      this.issued.push(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
    }
    if (req.url !== `/v1/projects/${this.project}/messages:send` || req.method !== 'POST')
      return problem(`path ${req.url}`);
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization))?.[1];
    if (bearer === undefined || !this.issued.includes(bearer)) return problem('bearer token');
    const message = (JSON.parse(data) as { message: { token: string; data: Record<string, string> } })
      .message;
    this.received.push({ at, to: message.token, payload: JSON.stringify(message.data), raw: data });
    reply(res, this, this.next(message.token));
  }

  async stop(): Promise<void> {
    for (const end of this.hanging) end();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- APNs ----

export class ApnsService extends Recorder {
  readonly dir = mkdtempSync(join(tmpdir(), 'passby-apns-'));
  readonly keyFile = join(this.dir, 'AuthKey.p8');
  readonly caFile = join(this.dir, 'ca.pem');
  readonly keyId = 'KEY1234567';
  readonly teamId = 'TEAM123456';
  readonly topic = 'test.passby.app';
  private readonly pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  private server!: Http2SecureServer;
  origin = '';
  headers: IncomingHttpHeaders[] = [];

  async start(): Promise<void> {
    writeFileSync(this.keyFile, this.pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const tlsKey = join(this.dir, 'tls-key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        tlsKey,
        '-out',
        this.caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    this.server = createSecureServer({ key: readFileSync(tlsKey), cert: readFileSync(this.caFile) });
    this.server.on('stream', (stream, headers) => {
      const at = performance.now();
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => void this.handle(stream, headers, Buffer.concat(chunks).toString(), at));
      stream.on('error', () => {});
    });
    this.origin = `https://127.0.0.1:${await listen(this.server)}`;
  }

  private async handle(
    stream: import('node:http2').ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    data: string,
    at: number,
  ): Promise<void> {
    const problem = (what: string) => {
      this.problems.push(what);
      stream.respond({ ':status': 400 });
      stream.end();
    };
    const token = /^\/3\/device\/([0-9a-f]+)$/.exec(String(headers[':path']))?.[1];
    if (headers[':method'] !== 'POST' || token === undefined) return problem(`path ${headers[':path']}`);
    const jwt = /^bearer (.+)$/.exec(String(headers.authorization))?.[1];
    try {
      const { payload, protectedHeader } = await jwtVerify(jwt ?? '', this.pair.publicKey as KeyObject, {
        issuer: this.teamId,
        algorithms: ['ES256'],
      });
      if (protectedHeader.kid !== this.keyId) return problem('kid');
      if (typeof payload.iat !== 'number') return problem('iat');
    } catch (err) {
      return problem(`provider token: ${String(err)}`);
    }
    if (headers['apns-topic'] !== this.topic) return problem('apns-topic');
    if (headers['apns-push-type'] !== 'background') return problem('apns-push-type');
    if (headers['apns-priority'] !== '5') return problem('apns-priority (background pushes must be 5)');
    const aps = (JSON.parse(data) as { aps?: Record<string, unknown> }).aps;
    if (aps?.['content-available'] !== 1) return problem('content-available');
    this.headers.push(headers);
    this.received.push({ at, to: token, payload: data, raw: `${JSON.stringify(headers)} ${data}` });
    const answer = this.next(token);
    if (answer === 'hang') {
      this.hanging.push(() => stream.close());
      return;
    }
    stream.respond({ ':status': answer.status, ...(answer.headers ?? {}) });
    stream.end();
  }

  async stop(): Promise<void> {
    for (const end of this.hanging) end();
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
