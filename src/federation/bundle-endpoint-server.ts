// This region's SPIFFE Federation bundle endpoint (https_spiffe profile): the
// controller's SVID on a listener of its own, serving the current bundle to
// anyone — no client certificate, as the profile requires, which is why it is
// not the mTLS peers listener.
import { createServer, type Server } from 'node:https';
import { serveBundleEndpoint } from '../identity/bundle-endpoint.js';
import type { TrustBundle } from '../identity/trust-bundle.js';

export interface BundleEndpointServerDeps {
  readonly bundle: () => TrustBundle;
  /** The controller's serving identity (leaf + CA); re-read on renewal via refresh(). */
  readonly credentials: () => { key: string; cert: string };
  readonly count: (event: string) => void;
}

export function startBundleEndpointServer(deps: BundleEndpointServerDeps, listen: { host: string; port: number }): Promise<Server & { refresh(): void }> {
  const c = deps.credentials();
  const handler = serveBundleEndpoint(deps.bundle, '/');
  const server = createServer({ key: c.key, cert: c.cert, minVersion: 'TLSv1.2' }, (req, res) => {
    deps.count('bundle_endpoint_request');
    handler(req, res);
  }) as Server & { refresh(): void };
  server.refresh = () => {
    const n = deps.credentials();
    server.setSecureContext({ key: n.key, cert: n.cert, minVersion: 'TLSv1.2' });
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}
