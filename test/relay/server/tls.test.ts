import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createClient, createIdentity, type PassbyClient } from '../../../client-sdk/index.js';
import { type Relay, startRelay } from '../../../relay/index.js';
import { spawnRelay, stopRelays } from '../../support/relay-child.js';

/*
 * wss:// served by the relay itself, with certificates this test makes with openssl: a
 * self-signed one for localhost and 127.0.0.1, the SDK trusting it as its CA.
 */
let dir: string;
const relays: Relay[] = [];
const clients: PassbyClient[] = [];

interface Pem {
  cert: string;
  key: string;
  fingerprint: string;
}

function makeCertificate(name: string): Pem {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

let first: Pem;
let second: Pem;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'passby-tls-'));
  first = makeCertificate('first');
  second = makeCertificate('second');
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const r of relays.splice(0)) await r.close();
  await stopRelays();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tlsRelay(extra: Record<string, unknown> = {}): Promise<Relay> {
  const relay = await startRelay({ config: { tlsCertFile: first.cert, tlsKeyFile: first.key, ...extra } });
  relays.push(relay);
  return relay;
}

/** The certificate a TLS client is shown, or the handshake's error. */
function handshake(port: number, options: { maxVersion?: 'TLSv1.2'; ca: string }): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.once('error', reject);
  });
}

const caOf = (pem: Pem) => readFileSync(pem.cert, 'utf8');

describe('TLS served by the relay', () => {
  it('carries the SDK over wss:// end to end', async () => {
    const relay = await tlsRelay();
    expect(relay.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const ca = caOf(first);
    class TrustingWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { ca });
      }
    }
    const [a, b] = await Promise.all([createIdentity(), createIdentity()]);
    const open = async (identity: typeof a) => {
      const client = await createClient({ url: relay.url, identity, WebSocket: TrustingWebSocket });
      clients.push(client);
      if (client.state.kind !== 'open') await client.once('open');
      return client;
    };
    const alice = await open(a);
    const bob = await open(b);
    const toBob = bob.once('message');
    await alice.send(bob.id, 'over tls');
    expect(await toBob).toMatchObject({ from: alice.id, kind: 'text', text: 'over tls' });
  });

  it("passes the container's HEALTHCHECK over TLS", async () => {
    const relay = await tlsRelay();
    const script = new URL('../../../scripts/healthcheck.mjs', import.meta.url).pathname;
    // Asynchronously: the relay answering it runs in this process.
    const check = (env: Record<string, string>) =>
      new Promise<number | null>((resolve) =>
        spawn(process.execPath, [script], { env: { PATH: process.env.PATH ?? '', ...env } }).once(
          'exit',
          resolve,
        ),
      );
    expect(await check({ PASSBY_PORT: String(relay.port), PASSBY_TLS_CERT_FILE: first.cert })).toBe(0);
    // Plain HTTP against the TLS port is not an answer.
    expect(await check({ PASSBY_PORT: String(relay.port) })).toBe(1);
  });

  it('refuses TLS 1.2 by default and accepts it when PASSBY_TLS_MIN_VERSION allows it', async () => {
    const strict = await tlsRelay();
    const ca = caOf(first);
    await expect(handshake(strict.port, { maxVersion: 'TLSv1.2', ca })).rejects.toThrow(/version|alert/i);
    expect((await handshake(strict.port, { ca })).fingerprint256).toBe(first.fingerprint);
    const lenient = await tlsRelay({ tlsMinVersion: 'TLSv1.2' });
    expect((await handshake(lenient.port, { maxVersion: 'TLSv1.2', ca })).fingerprint256).toBe(
      first.fingerprint,
    );
  });

  it('serves a renewed certificate after SIGHUP without a restart, and keeps the old one when the new files are bad', async () => {
    const certFile = join(dir, 'live.crt');
    const keyFile = join(dir, 'live.key');
    copyFileSync(first.cert, certFile);
    copyFileSync(first.key, keyFile);
    const relay = await spawnRelay({ PASSBY_TLS_CERT_FILE: certFile, PASSBY_TLS_KEY_FILE: keyFile });
    expect(relay.logs.find((r) => r.msg === 'relay listening')).toMatchObject({ tls: true });
    expect((await handshake(relay.port, { ca: caOf(first) })).fingerprint256).toBe(first.fingerprint);

    const reloaded = (count: number, msg: string) =>
      new Promise<void>((resolve) => {
        const check = () => relay.logs.filter((r) => r.msg === msg).length >= count;
        if (check()) return resolve();
        relay.process.stdout!.on('data', () => queueMicrotask(() => check() && resolve()));
      });
    copyFileSync(second.cert, certFile);
    copyFileSync(second.key, keyFile);
    relay.process.kill('SIGHUP');
    await reloaded(1, 'tls certificate reloaded');
    expect((await handshake(relay.port, { ca: caOf(second) })).fingerprint256).toBe(second.fingerprint);

    writeFileSync(keyFile, 'not a key');
    relay.process.kill('SIGHUP');
    await reloaded(1, 'tls certificate reload failed; the previous one stays');
    expect((await handshake(relay.port, { ca: caOf(second) })).fingerprint256).toBe(second.fingerprint);
    expect(relay.process.exitCode).toBeNull();
  });

  it('does not start when a certificate file cannot be read', async () => {
    await expect(
      startRelay({ config: { tlsCertFile: join(dir, 'missing.crt'), tlsKeyFile: first.key } }),
    ).rejects.toThrow('could not read PASSBY_TLS_CERT_FILE');
  });
});
