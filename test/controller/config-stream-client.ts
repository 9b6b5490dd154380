// Test helper: opens a controller's config stream as an enrolled node, from a
// chosen source address, and reports the answer (the first config line on 200,
// the error body otherwise). Stands in for a rogue node that crafts its query.
import { request } from 'node:https';
import type { SocketAddress } from '../../src/core/address.js';
import type { EnrollResult } from '../../src/node/controller-client.js';

export interface StreamAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** Closes the stream (a no-op when it was refused or not kept open). */
  close(): void;
}

export function openConfigStream(agentsApi: SocketAddress, node: EnrollResult, advertise: string, localAddress: string, keepOpen = false): Promise<StreamAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: agentsApi.host,
        port: agentsApi.port,
        path: `/v1/config/stream?advertise=${encodeURIComponent(advertise)}`,
        localAddress,
        key: node.credential.keyPem,
        cert: node.credential.chainPem,
        ca: [node.enrollment.caPem],
        checkServerIdentity: () => undefined,
        agent: false,
      },
      (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          const nl = buf.indexOf('\n');
          if (res.statusCode === 200 && nl >= 0) {
            resolve({ status: 200, body: JSON.parse(buf.slice(0, nl)) as Record<string, unknown>, close: () => req.destroy() });
            if (!keepOpen) req.destroy();
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(buf || '{}') as Record<string, unknown>, close: () => undefined }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
