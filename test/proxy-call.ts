// One call from an app's address through an agent's HTTP proxy (an
// absolute-URI GET, as apps make them), for the tests that drive real agents.
import { request } from 'node:http';

export interface ProxyCall {
  /** The agent's listen.httpProxy. */
  readonly proxy: { readonly host: string; readonly port: number };
  /** e.g. "http://ledger.shop.mesh/balance" */
  readonly url: string;
  /** The calling app's Workload address: the agent attests callers by it. */
  readonly from: string;
  readonly timeoutMs?: number;
}

/** The HTTP status, or 0 on a transport error or timeout. */
export function callThroughProxy(c: ProxyCall): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: c.proxy.host, port: c.proxy.port, method: 'GET', path: c.url, localAddress: c.from, timeout: c.timeoutMs ?? 20_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}
