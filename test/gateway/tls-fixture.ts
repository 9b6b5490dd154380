// Test fixtures for the gateway: a throwaway PKI made with the openssl CLI and a
// real mTLS echo backend standing in for a destination agent; a TLS client exchange and a closed port.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect as tlsConnect, createServer, type PeerCertificate, type TLSSocket, type Server } from 'node:tls';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';

const run = promisify(execFile);

export interface TestPki {
  readonly dir: string;
  readonly caPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  path(name: 'ca.pem' | 'server.pem' | 'server.key' | 'client.pem' | 'client.key'): string;
  cleanup(): Promise<void>;
}

/** A CA, a server certificate for `serverName` and a client certificate, all P-256, valid one day. */
export async function makeTestPki(serverName: string): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-gw-pki-'));
  const p = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=entente-gateway-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  for (const [who, cn, ext] of [
    ['server', serverName, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth\n`],
    ['client', 'source-agent', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await writeFile(p(`${who}.ext`), ext);
    await run('openssl', ['req', ...ec, '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', `/CN=${cn}`]);
    await run('openssl', ['x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
      '-out', p(`${who}.pem`), '-days', '1', '-extfile', p(`${who}.ext`)]);
  }
  const read = (n: string): Promise<string> => readFile(p(n), 'utf8');
  return {
    dir,
    caPem: await read('ca.pem'),
    serverCertPem: await read('server.pem'),
    serverKeyPem: await read('server.key'),
    clientCertPem: await read('client.pem'),
    clientKeyPem: await read('client.key'),
    path: p,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface EchoBackend {
  readonly port: number;
  /** Subjects (CN) of the client certificates the backend verified, in order. */
  readonly clientSubjects: string[];
  close(): Promise<void>;
}

/**
 * An mTLS server that echoes every byte; after the client half-closes it sends
 * "\nbytes=<n>\n" and closes, which proves the half-close travelled end to end.
 * A line "quit" makes it close after echoing (for `openssl s_client`).
 */
export async function startEchoBackend(pki: TestPki): Promise<EchoBackend> {
  const clientSubjects: string[] = [];
  const sockets = new Set<TLSSocket>();
  const server: Server = createServer({
    key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: true, allowHalfOpen: true,
  }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    clientSubjects.push(String(s.getPeerCertificate().subject?.CN));
    let count = 0;
    let text = '';
    s.on('data', (d: Buffer) => {
      count += d.length;
      if (!s.write(d)) { s.pause(); s.once('drain', () => s.resume()); }
      if (text.length < 4096) text += d.toString('latin1');
      if (/(^|\n)quit\n/.test(text)) s.end();
    });
    s.on('end', () => { if (s.writable) s.end(`\nbytes=${count}\n`); });
  });
  server.on('tlsClientError', () => undefined);
  // With allowHalfOpen, Node 20 never closes a TLS server socket whose client left mid-handshake:
  // keep the raw TCP sockets too, so close() cannot hang on them.
  const raw = new Set<Socket>();
  server.on('connection', (c: Socket) => { raw.add(c); c.on('close', () => raw.delete(c)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    clientSubjects,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      for (const c of raw) c.destroy();
      server.close(() => resolve());
    }),
  };
}

export interface Exchange { data: Buffer; cert: PeerCertificate }

/** A TLS client with the fixture's client certificate: sends `payload`, half-closes, collects the reply until close. `servername` null: no SNI. */
export function tlsExchange(pki: TestPki, port: number, payload: Buffer, servername: string | null): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pki.caPem, cert: pki.clientCertPem, key: pki.clientKeyPem,
      ...(servername ? { servername } : {}) });
    const chunks: Buffer[] = [];
    let cert: PeerCertificate | undefined;
    const timer = setTimeout(() => { s.destroy(); reject(new Error('exchange timed out')); }, 15_000);
    s.on('secureConnect', () => { cert = s.getPeerCertificate(); s.end(payload); });
    let error: Error | undefined;
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (err) => { error ??= err; });
    s.on('close', () => {
      clearTimeout(timer);
      if (error) reject(error);
      else if (!cert) reject(new Error('connection closed before the TLS handshake completed'));
      else resolve({ data: Buffer.concat(chunks), cert });
    });
  });
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
