// The inbound mesh port: an HTTP/2 server over mTLS that peer agents open
// pooled sessions to. Per session: SNI picks the local workload's SVID, the
// client's SVID must chain to its OWN trust domain (checked right after the
// handshake) and be a workload identity. Each CONNECT stream then runs the
// inbound stack (index.ts).
import { createSecureServer, constants, type ServerHttp2Session, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { EntenteError, describeError } from '../../../core/errors.js';
import type { SocketAddress } from '../../../core/address.js';
import { verifyX509SvidChain } from '../../../identity/verify-svid.js';
import type { DataplaneSnapshot } from '../dataplane-snapshot.js';
import { h2Settings, type DataplaneContext } from '../dataplane-context.js';
import { MESH_ALPN, MIN_TLS_VERSION, handshakeFailureReason, peerChain, workloadForServerName, type TlsContexts } from '../tls-contexts.js';
import type { InboundPeer } from './decide.js';
import type { Service } from '../stack.js';
import type { InboundCall } from './call.js';
import { refuseStream } from './respond.js';
import { listenOn, closeServer } from '../listen.js';

export interface InboundServer {
  readonly address: SocketAddress;
  /** After a snapshot swap: new CA pools, and sessions whose peer is no longer trusted are cut. */
  snapshotChanged(prev: DataplaneSnapshot, next: DataplaneSnapshot): void;
  close(): Promise<void>;
}

interface AcceptedSession {
  readonly peer: InboundPeer;
  readonly chain: readonly X509Certificate[];
  /** The peer's SVID expiry: a session outliving it carries no new stream. */
  readonly notAfterMs: number;
}

/** A stable label for an HTTP/2 session error. */
function sessionErrorReason(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'ERR_HTTP2_ERROR' || code === 'ERR_HTTP2_SESSION_ERROR') return 'protocol_error';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  return 'other';
}

export async function startInboundServer(ctx: DataplaneContext, contexts: TlsContexts, inbound: Service<InboundCall>, listen: SocketAddress): Promise<InboundServer> {
  const accepted = new WeakMap<ServerHttp2Session, AcceptedSession>();
  const sessions = new Set<ServerHttp2Session>();

  const server = createSecureServer({
    SNICallback: (servername, cb) => {
      const r = contexts.serverContextFor(ctx.state.current, servername);
      if (r.kind === 'ok') cb(null, r.context);
      else cb(new EntenteError('ENTENTE_UNKNOWN_SNI', r.reason, { hint: 'the caller dialled the wrong agent, or this node lost the workload' }), undefined);
    },
    requestCert: true,
    // OpenSSL refuses certificates of unknown trust domains during the handshake;
    // the per-trust-domain SPIFFE check runs right after it (onSession).
    rejectUnauthorized: true,
    ca: [...ctx.state.current.allAuthoritiesPem],
    minVersion: MIN_TLS_VERSION,
    ALPNProtocols: MESH_ALPN,
    allowHTTP1: false,
    settings: h2Settings(ctx.tuning),
    maxSessionMemory: 256,
    // Node's default is 120 s: a ClientHello followed by silence would hold a socket (and a gateway's) that long.
    handshakeTimeout: ctx.tuning.handshakeTimeoutMs,
  });

  server.on('tlsClientError', (err, socket) => {
    // Node verifies the client chain at the end of the handshake and drops the
    // socket before any session exists; the verdict is in authorizationError.
    const authError = (socket as TLSSocket & { authorizationError?: string | Error }).authorizationError;
    const reason = authError ? (/NO_PEER|PEER_DID_NOT|NO CERT/i.test(String(authError)) ? 'no_client_certificate' : 'untrusted_certificate') : handshakeFailureReason(err);
    const detail = authError ? `client certificate refused: ${String(authError)}` : describeError(err);
    ctx.metrics.handshakeFailures.inc({ reason });
    ctx.refusals.warn(reason, { from: socket.remoteAddress, err: detail }, 'mTLS handshake refused on the inbound port');
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.setNoDelay(true);
    // Peers ping us (their pool's keepalive); TCP keepalive reaps peers that vanished.
    socket.setKeepAlive(true, 30_000);
  });
  server.on('unknownProtocol', (socket) => {
    ctx.metrics.handshakeFailures.inc({ reason: 'alpn' });
    ctx.refusals.warn('alpn', { from: socket.remoteAddress }, 'peer did not negotiate ALPN h2; closing');
    socket.destroy();
  });
  server.on('error', (err) => ctx.log.error({ err: describeError(err) }, 'inbound server error'));

  server.on('session', (session: ServerHttp2Session) => {
    session.on('error', (err) => {
      // nghttp2 ends the session of a peer that breaks the protocol (e.g. opens more streams than it acknowledged).
      const reason = sessionErrorReason(err);
      ctx.metrics.inboundSessionErrors.inc({ reason });
      if (reason === 'protocol_error') ctx.refusals.warn('h2_protocol_error', { from: session.socket?.remoteAddress, err: describeError(err) }, 'mesh session ended: the peer broke the HTTP/2 protocol (over the stream limit?)');
      else ctx.log.debug({ err: describeError(err) }, 'inbound session error');
    });
    const socket = session.socket as unknown as TLSSocket;
    const snapshot = ctx.state.current;
    const remoteAddress = socket.remoteAddress ?? '';
    let refusal: string | undefined;
    let reason = 'svid_invalid';
    let chain: X509Certificate[] = [];
    let peer: InboundPeer | undefined;
    let notAfterMs = 0;
    try {
      chain = peerChain(socket);
      const v = verifyX509SvidChain(chain, snapshot, ctx.now());
      const sniWorkload = workloadForServerName(snapshot, socket.servername);
      if (v.kind === 'invalid') refusal = `client SVID refused (${v.code}): ${v.reason}`;
      else if (!v.spiffeId.isWorkloadId) {
        // Node, gateway and controller SVIDs authenticate infrastructure; no policy (not even "*") may let them call an app.
        reason = 'caller_not_workload';
        refusal = `caller ${v.spiffeId.toString()} is not a workload identity (spiffe://<trust domain>/ns/<namespace>/sa/<service account>)`;
      } else if (!sniWorkload) refusal = `server name ${String(socket.servername)} names no local workload`;
      else {
        peer = { caller: v.spiffeId, sniWorkload, remoteAddress };
        notAfterMs = v.notAfter.getTime();
      }
    } catch (err) {
      refusal = `client certificate unreadable: ${describeError(err)}`;
    }
    if (!peer) {
      ctx.metrics.handshakeFailures.inc({ reason });
      ctx.refusals.warn(reason, { from: remoteAddress, reason: refusal }, 'peer refused after the mTLS handshake');
      session.destroy();
      return;
    }
    ctx.metrics.tlsSessions.inc({ side: 'server' });
    accepted.set(session, { peer, chain, notAfterMs });
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('connect', () => {
      try {
        session.setLocalWindowSize(ctx.tuning.sessionWindowBytes);
      } catch {
        /* closing */
      }
    });
  });

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number): void => {
    const session = accepted.get(stream.session as ServerHttp2Session);
    if (!session) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const start = ctx.now();
    if (start >= session.notAfterMs) {
      // The caller's SVID expired during the session: it must reconnect with its rotated one.
      ctx.metrics.handshakeFailures.inc({ reason: 'svid_expired' });
      ctx.refusals.warn('svid_expired', { caller: session.peer.caller.toString(), from: session.peer.remoteAddress }, 'closing a mesh session whose client SVID expired');
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      (stream.session as ServerHttp2Session | undefined)?.close();
      return;
    }
    const call: InboundCall = { stream, headers, flags, peer: session.peer, start, snapshot: ctx.state.current, target: undefined, policy: undefined, rule: undefined, method: undefined, path: undefined };
    inbound(call).catch((err: unknown) => {
      ctx.log.error({ err: describeError(err) }, 'inbound stream handler failed');
      refuseStream(stream, 500, 'internal error in the destination agent');
    });
  };

  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
    stream.on('error', (err) => ctx.log.debug({ err: describeError(err) }, 'inbound stream error'));
    try {
      onStream(stream, headers, flags);
    } catch (err) {
      // A bug must cost one stream, never the process or the session.
      ctx.log.error({ err: describeError(err) }, 'inbound stream handler failed');
      refuseStream(stream, 500, 'internal error in the destination agent');
    }
  });

  const address = await listenOn(server, listen, 'inbound');

  return {
    address,
    snapshotChanged(prev, next) {
      if (contexts.allTrustKey(prev) === contexts.allTrustKey(next)) return;
      try {
        server.setSecureContext({ ca: [...next.allAuthoritiesPem], minVersion: MIN_TLS_VERSION });
      } catch (err) {
        ctx.log.error({ err: describeError(err) }, 'cannot rebuild the inbound TLS context');
      }
      for (const s of sessions) {
        const a = accepted.get(s);
        if (!a) continue;
        const v = verifyX509SvidChain(a.chain, next, ctx.now());
        if (v.kind === 'invalid') {
          ctx.metrics.handshakeFailures.inc({ reason: 'trust_revoked' });
          ctx.log.warn({ caller: a.peer.caller.toString(), reason: v.reason }, 'closing a mesh session whose peer is no longer trusted');
          s.destroy();
        }
      }
    },
    async close() {
      for (const s of sessions) s.destroy();
      await closeServer(server);
    },
  };
}
