// One HTTP/1.1 request parsed from a CONNECT stream to a port declared
// `protocol: http`: through the gate (l7-gate.ts: normalized, authorized with
// its method and path, admitted by the workload's bulkhead), then forwarded as
// checked (normalized path + original query) to the app over a keep-alive
// pool, with the caller's identity in x-forwarded-client-cert and every
// caller-sent copy removed. Settles with the request's outcome; the caller
// records it. (HTTP/2 requests take the same gate in h2c-server.ts.)
import { request, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { describeError } from '../../../core/errors.js';
import { formatSocketAddress } from '../../../core/address.js';
import { DENY_REASON_HEADER, REFUSAL_CODE_HEADER } from '../../../mesh/wire-headers.js';
import { headerSafe, type DataplaneContext } from '../dataplane-context.js';
import type { InboundPeer } from './decide.js';
import { gateL7Request, type L7Target } from './l7-gate.js';
import { appRequestHeaders, appResponseHeaders } from '../http-headers.js';
import { fail, type Failure, type Outcome } from '../outcome.js';
import { inboundStatus } from './respond.js';

/** The caller's side of one request, whichever framing carries it. */
export interface L7Exchange {
  readonly method: string;
  /** The raw request target (origin form). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** The request body. */
  readonly body: Readable;
  readonly headersSent: () => boolean;
  /** Sends the response head; the body follows on `response`. */
  head(status: number, headers: OutgoingHttpHeaders): void;
  readonly response: Writable;
  /** Ends the exchange abruptly (after the head was sent, nothing else can say it failed). */
  abort(): void;
  /** Runs once when the caller's side is gone; `complete` tells whether the response was fully sent. */
  onClose(fn: (complete: boolean) => void): void;
}

export interface L7Result {
  readonly outcome: Outcome;
  readonly path: string | undefined;
  readonly policy: string | undefined;
  readonly rule: number | undefined;
}

/** A refusal as a response: status, the reason in a header and as the body, the code for the calling agent. */
export function refuseExchange(x: L7Exchange, f: Failure): Failure {
  const status = inboundStatus(f.code);
  if (x.headersSent()) {
    x.abort();
    return { ...f, status, responseStarted: true };
  }
  const body = status === 403 ? `denied by policy: ${f.reason}\n` : `entente: ${f.reason}\n`;
  x.head(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), [DENY_REASON_HEADER]: headerSafe(f.reason), [REFUSAL_CODE_HEADER]: f.code });
  x.response.end(body);
  x.body.resume();
  return { ...f, status };
}

export function forwardL7(ctx: DataplaneContext, agent: Agent, peer: InboundPeer, target: L7Target, x: L7Exchange): Promise<L7Result> {
  const refused = (f: Failure, path: string | undefined, policy?: string, rule?: number): Promise<L7Result> => Promise.resolve({ outcome: refuseExchange(x, f), path, policy, rule });
  const { method } = x;
  // Normalize (forward what is checked), authorize method and path, take a bulkhead slot: the one gate of HTTP mode.
  const gate = gateL7Request(ctx, peer, target, method, x.url);
  if (gate.kind === 'refuse') return refused(fail(gate.code, gate.reason), gate.path, gate.policy, gate.rule);
  const { path, policy, rule } = gate;
  const slot = { release: gate.release };

  return new Promise((resolve) => {
    let status: number | undefined;
    let bytesOut = 0;
    let bytesIn = 0;
    let done = false;
    const finish = (outcome: Outcome): void => {
      if (done) return;
      done = true;
      slot.release();
      resolve({ outcome, path, policy, rule });
    };
    const appAddress = formatSocketAddress({ host: target.workload.address, port: target.port });
    const up = request({
      host: target.workload.address,
      port: target.port,
      method,
      path: gate.target,
      headers: appRequestHeaders(x.headers, target.workload.spiffeId.toString(), peer.caller.toString()),
      agent,
      setHost: false,
    });
    up.on('error', (err) => {
      const reason = `app at ${appAddress} failed: ${describeError(err)}`;
      finish(refuseExchange(x, fail('app_unreachable', reason, { bytesOut, bytesIn })));
    });
    up.on('response', (ur) => {
      status = ur.statusCode ?? 502;
      ur.on('data', (c: Buffer) => (bytesIn += c.length));
      ur.on('error', () => x.abort());
      x.head(status, appResponseHeaders(ur.headers));
      ur.pipe(x.response);
    });
    x.body.on('data', (c: Buffer) => (bytesOut += c.length));
    x.body.pipe(up);
    x.onClose((complete) => {
      if (complete) {
        finish({ kind: 'done', status: status ?? 0, bytesOut, bytesIn });
        return;
      }
      up.destroy();
      // A caller that leaves mid-request must not keep its slot.
      finish(fail('client_closed', 'caller closed before the response completed', { status, bytesOut, bytesIn }));
    });
  });
}
