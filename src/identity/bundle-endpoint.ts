// SPIFFE Federation bundle endpoint, https_spiffe profile (SPIFFE_Federation.md
// 5.2.2): the server presents an X509-SVID and serves the bundle to anyone (no
// client authentication); the client authenticates the server as the
// configured endpoint SPIFFE ID against the latest bundle of the endpoint's
// trust domain BEFORE sending the request, and follows redirects only to
// endpoints presenting that same ID.
import * as http from 'node:http';
import * as tls from 'node:tls';
import { EntenteError } from '../core/errors.js';
import { SpiffeId, type TrustDomain } from './spiffe-id.js';
import { bundleToJson, parseBundleJson, type TrustBundle } from './trust-bundle.js';
import { BundleStore } from './bundle-store.js';
import { verifyTlsPeer } from './svid-tls.js';

/** A request handler for node:https serving the current bundle at `path` (default "/"). */
export function serveBundleEndpoint(getBundle: () => TrustBundle, path = '/'): http.RequestListener {
  return (req, res) => {
    const reqPath = (req.url ?? '/').split('?')[0];
    if (reqPath !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = bundleToJson(getBundle());
    } catch {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('bundle unavailable\n');
      return;
    }
    // Always the freshest bundle (5.2.2.3); caches must not hold a revoked key.
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

export interface FetchBundleOptions {
  /** Trust domain of the bundle being fetched; default: currentBundle's (a self-serving endpoint). */
  readonly trustDomain?: TrustDomain;
  /** For a non-self-serving endpoint: the latest bundle of the endpoint's own trust domain. */
  readonly endpointBundle?: TrustBundle;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly maxRedirects?: number;
  readonly now?: () => number;
}

function fail(code: string, msg: string, hint: string, cause?: unknown): never {
  throw new EntenteError(code, msg, { hint, cause });
}

/** Bundle endpoint URL rules (5.2.2.1): https, no userinfo. */
export function checkBundleEndpointUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    return fail('BAD_BUNDLE_ENDPOINT_URL', `${text} is not a URL`, 'e.g. https://eu.example.org:8443/bundle', err);
  }
  if (url.protocol !== 'https:') fail('BAD_BUNDLE_ENDPOINT_URL', `${text}: the scheme must be https`, 'https_spiffe endpoints use TLS');
  if (url.username !== '' || url.password !== '') fail('BAD_BUNDLE_ENDPOINT_URL', `${text}: userinfo is not allowed`, 'remove "user@" from the URL');
  return url;
}

/**
 * Fetches the bundle of `currentBundle.trustDomain` (or opts.trustDomain) from
 * an https_spiffe endpoint. For a self-serving endpoint the server SVID is
 * verified against `currentBundle` — pass the latest bundle you hold, so the
 * foreign domain can rotate keys without breaking the relationship.
 */
export async function fetchBundleHttpsSpiffe(url: string, endpointSpiffeId: SpiffeId | string, currentBundle: TrustBundle, opts: FetchBundleOptions = {}): Promise<TrustBundle> {
  const endpointId = typeof endpointSpiffeId === 'string' ? SpiffeId.parse(endpointSpiffeId) : endpointSpiffeId;
  const bundleTd = opts.trustDomain ?? currentBundle.trustDomain;
  const authBundle = endpointId.trustDomain === currentBundle.trustDomain ? currentBundle : opts.endpointBundle;
  if (!authBundle || authBundle.trustDomain !== endpointId.trustDomain) {
    fail('BUNDLE_ENDPOINT_NO_TRUST', `no bundle of ${endpointId.trustDomain} to authenticate endpoint ${endpointId}`, 'a non-self-serving endpoint needs opts.endpointBundle for its own trust domain');
  }
  const source = new BundleStore([authBundle]);
  const now = opts.now ?? Date.now;
  let target = checkBundleEndpointUrl(url);
  for (let hop = 0; ; hop++) {
    const res = await getOnce(target, endpointId, source, now, opts.timeoutMs ?? 10_000, opts.maxBytes ?? 1 << 20);
    if (res.status >= 300 && res.status < 400 && res.location) {
      if (hop >= (opts.maxRedirects ?? 3)) fail('BUNDLE_ENDPOINT_HTTP', `too many redirects from ${url}`, 'check the endpoint configuration');
      // The redirect target must itself be a valid endpoint URL and present the same ID (checked on connect).
      target = checkBundleEndpointUrl(new URL(res.location, target).toString());
      continue;
    }
    if (res.status !== 200) fail('BUNDLE_ENDPOINT_HTTP', `${target} answered HTTP ${res.status}`, 'check the endpoint URL and path');
    return parseBundleJson(res.body, bundleTd);
  }
}

interface RawResponse {
  status: number;
  location: string | undefined;
  body: string;
}

function getOnce(url: URL, endpointId: SpiffeId, source: BundleStore, now: () => number, timeoutMs: number, maxBytes: number): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EntenteError('BUNDLE_ENDPOINT_TIMEOUT', `${url} did not answer within ${timeoutMs} ms`, { hint: 'is the endpoint reachable?' }));
    }, timeoutMs);
    const done = (err: Error | undefined, r?: RawResponse) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(r!);
    };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = tls.connect({ host, port: Number(url.port || 443), servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    socket.once('error', (err) => done(new EntenteError('BUNDLE_ENDPOINT_UNREACHABLE', `cannot connect to ${url}: ${err.message}`, { cause: err, hint: 'check the address and that the endpoint runs' })));
    socket.once('secureConnect', () => {
      // Authenticate before any byte of the request leaves (5.2.2.4).
      const v = verifyTlsPeer(socket, source, now(), endpointId);
      if (v.kind !== 'valid') {
        socket.destroy();
        done(new EntenteError('BUNDLE_ENDPOINT_UNAUTHENTICATED', `${url} is not ${endpointId}: ${v.code}: ${v.reason}`, { hint: 'the endpoint must present an X509-SVID for the configured endpoint SPIFFE ID, valid under the latest bundle' }));
        return;
      }
      const req = http.request({ method: 'GET', path: `${url.pathname}${url.search}`, headers: { host: url.host, accept: 'application/json' }, createConnection: () => socket });
      req.once('error', (err) => done(err));
      req.once('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            socket.destroy();
            done(new EntenteError('BUNDLE_ENDPOINT_HTTP', `${url} sent more than ${maxBytes} bytes`, { hint: 'a bundle is a few kilobytes' }));
            return;
          }
          chunks.push(c);
        });
        res.once('end', () => {
          socket.end();
          done(undefined, { status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end();
    });
  });
}
