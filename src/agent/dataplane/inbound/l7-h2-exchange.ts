// An HTTP/2 request stream on the mesh session (a calling agent's L7 request
// to an http port) as the forwarder sees it: pseudo-headers become the
// method and target, the stream is both the request body and the response.
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { L7Exchange } from './l7-forward.js';

export function h2Exchange(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): L7Exchange {
  const plain: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (k[0] !== ':') plain[k] = v;
  // The calling agent sends the app's Host as is; only when it is absent does :authority (the workload address) stand in.
  if (plain.host === undefined && typeof headers[':authority'] === 'string') plain.host = headers[':authority'];
  return {
    method: String(headers[':method'] ?? 'GET'),
    url: String(headers[':path'] ?? ''),
    headers: plain,
    body: stream,
    headersSent: () => stream.headersSent,
    head: (status, h) => {
      if (stream.destroyed || stream.closed) return;
      try {
        stream.respond({ ...h, ':status': status });
      } catch {
        stream.destroy();
      }
    },
    response: stream,
    abort: () => {
      if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    },
    onClose: (fn) => {
      stream.once('close', () => fn(stream.rstCode === constants.NGHTTP2_NO_ERROR && stream.writableFinished));
    },
  };
}
