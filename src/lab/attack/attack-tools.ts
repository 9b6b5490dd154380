// The attacker's tools, all real sockets: HTTP through an agent's proxy (from
// a chosen source address), raw HTTP inside a CONNECT tunnel (bytes no client
// library would tidy up), and HTTP/2 CONNECT sessions with stolen or foreign
// certificates straight at an agent's mesh port. Every call is bounded in time.
import { request } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as h2Connect, type ClientHttp2Session } from 'node:http2';
import { execFile } from 'node:child_process';
import type { SocketAddress } from '../../core/address.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly error?: string;
}

const TIMEOUT_MS = 30_000;

/** An absolute-URI request through an agent's HTTP proxy, sent from `localAddress`. */
export function proxyRequest(proxy: SocketAddress, localAddress: string, method: string, url: string, headers: Record<string, string> = {}, body = ''): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = request({ host: proxy.host, port: proxy.port, localAddress, method, path: url, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, agent: false, timeout: TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', (err) => resolve({ status: 0, headers: {}, body: text, error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: '', error: err.message }));
    req.end(body);
  });
}

/** Reads one HTTP/1.1 response (the server closes after it: we send connection: close). */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => socket.destroy(), TIMEOUT_MS);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', () => undefined);
  });
}

export function parseRawResponse(text: string): HttpAnswer {
  const end = text.indexOf('\r\n\r\n');
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = end === -1 ? '' : text.slice(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status, headers, body };
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl === -1) return out;
    const size = parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

/**
 * `CONNECT host:port` through the proxy from `localAddress`, then `raw` as the
 * first bytes inside the tunnel. Returns the CONNECT answer and, when the
 * tunnel opened, the response the destination sent to `raw`.
 */
export function tunnelRaw(proxy: SocketAddress, localAddress: string, target: string, raw: string): Promise<{ connect: HttpAnswer; inner?: HttpAnswer }> {
  return new Promise((resolve) => {
    const s = netConnect({ host: proxy.host, port: proxy.port, localAddress });
    s.on('error', (err) => resolve({ connect: { status: 0, headers: {}, body: '', error: err.message } }));
    s.once('connect', () => {
      s.write(`CONNECT ${target} HTTP/1.1\r\nhost: ${target}\r\n\r\n`);
      let head = '';
      const onData = (c: Buffer): void => {
        head += c.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        s.off('data', onData);
        const connect = parseRawResponse(head);
        if (connect.status !== 200) {
          s.destroy();
          resolve({ connect });
          return;
        }
        const rest = head.slice(end + 4);
        void readAll(s).then((t) => resolve({ connect, inner: parseRawResponse(rest + t) }));
        s.write(raw);
      };
      s.on('data', onData);
    });
  });
}

/** Runs a command and returns its exit code and output (bounded). */
export function run(cmd: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { timeout: TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && !stdout ? err.message : '') });
    });
  });
}

export interface MeshSessionResult {
  readonly session?: ClientHttp2Session;
  readonly error?: string;
}

/** An HTTP/2 mTLS session to an agent's mesh port, with the given key and chain (not verifying the server: the attacker does not care). */
export function meshSession(dial: SocketAddress, servername: string, keyPem: string, chainPem: string): Promise<MeshSessionResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: MeshSessionResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const session = h2Connect(`https://${dial.host}:${dial.port}`, { servername, key: keyPem, cert: chainPem, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const timer = setTimeout(() => {
      session.destroy();
      done({ error: 'timed out' });
    }, TIMEOUT_MS);
    session.on('error', (err) => done({ error: err.message }));
    session.on('close', () => done({ error: 'the agent closed the session' }));
    // The agent checks the client SVID right after the handshake and drops a refused
    // session at once; a session that answers a PING has been accepted.
    session.once('connect', () => session.ping((err) => (err ? done({ error: err.message }) : done({ session }))));
  });
}

/** Opens one CONNECT stream and reports the :status the agent answered (0 with the reason when the stream was reset). */
export function openConnect(session: ClientHttp2Session, authority: string): Promise<{ status: number; reason?: string; close(): void }> {
  return new Promise((resolve) => {
    const stream = session.request({ ':method': 'CONNECT', ':authority': authority }, { endStream: false });
    const timer = setTimeout(() => stream.destroy(), TIMEOUT_MS);
    const close = (): void => {
      clearTimeout(timer);
      if (!stream.destroyed) stream.close();
    };
    stream.on('response', (h) => {
      const reason = h['x-entente-deny-reason'];
      resolve({ status: Number(h[':status']), ...(typeof reason === 'string' ? { reason } : {}), close });
    });
    stream.on('error', (err) => resolve({ status: 0, reason: err.message, close }));
    stream.on('close', () => resolve({ status: 0, reason: `stream closed (code ${stream.rstCode})`, close }));
  });
}
