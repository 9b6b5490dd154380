// h2c sessions to local apps on `protocol: http2` ports: one per app address,
// shared by every request to it (HTTP/2 multiplexes), replaced when it closes,
// errs or receives GOAWAY. A session that does not connect within the connect
// budget is destroyed with ENTENTE_APP_CONNECT_TIMEOUT, so its requests fail
// as a 504 (DEADLINE_EXCEEDED for gRPC) rather than hang.
import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { EntenteError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import type { DataplaneTuning } from '../dataplane-context.js';

export const APP_CONNECT_TIMEOUT = 'ENTENTE_APP_CONNECT_TIMEOUT';

export class AppH2Pool {
  private readonly sessions = new Map<string, ClientHttp2Session>();

  constructor(private readonly tuning: DataplaneTuning) {}

  /** The live session to host:port, connecting one if needed (requests may be opened on it at once). */
  session(host: string, port: number): ClientHttp2Session {
    const key = formatSocketAddress({ host, port });
    const existing = this.sessions.get(key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = connect(`http://${key}`, {
      settings: { enablePush: false, initialWindowSize: this.tuning.streamWindowBytes },
      maxSessionMemory: 256,
      createConnection: () => netConnect({ host, port, noDelay: true }),
    });
    this.sessions.set(key, s);
    const forget = (): void => {
      if (this.sessions.get(key) === s) this.sessions.delete(key);
    };
    const timer = setTimeout(
      () => s.destroy(new EntenteError(APP_CONNECT_TIMEOUT, `the app at ${key} did not accept an h2c connection within ${this.tuning.connectTimeoutMs} ms`)),
      this.tuning.connectTimeoutMs,
    );
    s.once('connect', () => clearTimeout(timer));
    // The error reaches the requests on the session; the pool only forgets it.
    s.on('error', forget);
    s.once('goaway', forget);
    s.once('close', () => {
      clearTimeout(timer);
      forget();
    });
    return s;
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
