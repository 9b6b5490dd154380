// HTTP read-your-writes, the destination's half (docs/data-routing.md): a
// write to a local member of an HTTP data service that the app answers with
// 2xx is answered with a consistency token, the member's position read from
// its position endpoint right after the write. Read after the write, it is at
// least the write's own position, so a replica that has replayed that far has
// the write. The member is on this node, so the read costs a loopback round
// trip, and only writes to data services pay it.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { DataplaneContext } from '../dataplane-context.js';
import type { InboundContext } from './decide.js';
import { probeHttpMember } from '../../../data/http-probe.js';
import { formatConsistencyToken } from '../../../data/consistency-token.js';

/** The position endpoint is local: longer than this and the write is answered without a token. */
const POSITION_TIMEOUT_MS = 1000;

/** What to add to a 2xx response (the token header), or undefined when the position could not be read. */
export type WriteToken = () => Promise<OutgoingHttpHeaders | undefined>;

/** The token maker for this request, when it is a write to an HTTP data service's member here; else undefined. */
export function writeTokenFor(ctx: DataplaneContext, target: InboundContext, method: string, path: string, headers: IncomingHttpHeaders): WriteToken | undefined {
  const rules = ctx.state.current.dataWrites;
  if (!rules || rules.size === 0) return undefined;
  const rule = rules.get(`${target.service.namespace}/${target.service.name}`);
  if (!rule || !rule.isWrite(method, path, (name) => headers[name])) return undefined;
  return async () => {
    const r = await probeHttpMember({ host: target.workload.address, port: target.port, path: rule.positionPath }, { timeoutMs: POSITION_TIMEOUT_MS });
    if (r.role === 'primary') {
      ctx.metrics.writeTokens.inc({ route: rule.route, result: 'issued' });
      return { [rule.tokenHeader]: formatConsistencyToken(r.position) };
    }
    // A member that is not (or no longer) the primary has no position a reader could rely on for this write.
    const why = r.role === 'unreachable' ? r.error.message : `the member answers role ${r.role}, not primary`;
    ctx.metrics.writeTokens.inc({ route: rule.route, result: 'failed' });
    ctx.refusals.warn('write_token', { route: rule.route, workload: `${target.workload.namespace}/${target.workload.name}`, err: why }, 'write answered without a consistency token: the member position could not be read');
    return undefined;
  };
}
