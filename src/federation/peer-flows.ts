// Asks a peer controller for its region's flows over the federation peer API
// (mTLS, the peer named by its controller SPIFFE ID, as the state pulls are).
// The answer is checked like an agent's report: a peer speaks only for flows
// its own region took part in, and each record is stamped with that region.
import { request } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import type { PeerConfig } from '../controller/controller-config.js';
import { checkFlowBatch, type FlowRefusal, type StoredFlow } from '../mesh/flow-wire.js';

export const FLOWS_PATH = '/v1/federation/flows';
const MAX_BYTES = 16 * 1024 * 1024;
const NODE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface PeerFlowsAnswer {
  readonly flows: StoredFlow[];
  readonly refused: Partial<Record<FlowRefusal, number>>;
}

export function fetchPeerFlows(
  peer: PeerConfig,
  query: string,
  o: { credentials: { key: string; cert: string }; authorities: readonly string[]; timeoutMs: number; maxRecords: number },
): Promise<PeerFlowsAnswer> {
  if (!peer.url) return Promise.reject(new Error('no url configured for this peer (it is reached through relays only)'));
  const expected = `spiffe://${peer.trustDomain}/controller`;
  return new Promise((resolve, reject) => {
    const req = request(
      `${peer.url!.replace(/\/$/, '')}${FLOWS_PATH}?${query}`,
      {
        method: 'GET',
        key: o.credentials.key,
        cert: o.credentials.cert,
        ca: [...o.authorities],
        minVersion: 'TLSv1.3',
        agent: false,
        timeout: o.timeoutMs,
        checkServerIdentity: (_host: string, cert: PeerCertificate) =>
          cert.subjectaltname === `URI:${expected}` ? undefined : new Error(`peer presented ${cert.subjectaltname ?? 'no SAN'}, expected ${expected}`),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BYTES) req.destroy(new Error(`peer sent more than ${MAX_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`peer answered HTTP ${res.statusCode ?? 0}`));
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { flows?: unknown };
            const raw = Array.isArray(body.flows) ? (body.flows as unknown[]) : undefined;
            if (!raw) throw new Error('no "flows" list');
            const c = checkFlowBatch(raw, peer.region, o.maxRecords);
            // The node names come with the records: kept only when they are node names (shown, never trusted).
            const flows: StoredFlow[] = c.accepted.map((f, i) => {
              const node = (raw[c.indexes[i]!] as { node?: unknown } | null)?.node;
              return { ...f, region: peer.region, node: typeof node === 'string' && NODE.test(node) ? node : 'unknown' };
            });
            resolve({ flows, refused: c.refused });
          } catch (err) {
            reject(new Error(`peer answered with an invalid flows document (${(err as Error).message})`));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
