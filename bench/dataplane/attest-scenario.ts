// The attestation cost: fresh connections (one request each) through agent A
// with the caller's Workload declaring no selectors, uid only (the socket's
// owner: one sock_diag request, or /proc/net/tcp without the addon) and uid +
// executable (the process holding the socket too). Variants alternate within
// each round, so drift in machine load hits all alike; ratios are per round,
// then the median.
import { compileSelectors, type AttestSelectors } from '../../src/agent/attest/attest-selectors.js';
import { NO_ACCOUNTS } from '../../src/agent/attest/node-accounts.js';
import type { SocketAddress } from '../../src/core/address.js';
import { startAttestMesh } from './attest-agents.js';
import { runFreshConnections, type FreshResult } from './fresh-connections.js';
import { median, medianOfRatios, ratio } from './stats.js';

const CLIENTS = 8;

export interface AttestReport {
  readonly tool: string;
  readonly clients: number;
  readonly roundS: number;
  readonly rounds: number;
  readonly scenarios: (FreshResult & { name: string })[];
  readonly perRound: (FreshResult & { name: string; round: number })[];
  readonly ratios: Record<string, number | null>;
}

export async function runAttestScenario(dir: string, net: string, upstream: SocketAddress, rounds: number, durationS: number, say: (line: string) => void): Promise<AttestReport> {
  const roundS = Math.min(durationS, 3);
  const uid = process.getuid?.() ?? 0;
  const variants: { name: string; attest: AttestSelectors | undefined }[] = [
    { name: 'fresh connections, no selectors', attest: undefined },
    { name: 'fresh connections, uid', attest: compileSelectors({ uid }, NO_ACCOUNTS) },
    { name: 'fresh connections, uid + executable', attest: compileSelectors({ uid, executable: process.execPath }, NO_ACCOUNTS) },
  ];
  const mesh = await startAttestMesh(dir, net, upstream);
  const per: FreshResult[][] = variants.map(() => []);
  const perRound: AttestReport['perRound'] = [];
  try {
    await runFreshConnections(mesh.entry, CLIENTS, 1);
    for (let round = 1; round <= rounds; round++) {
      for (const [i, v] of variants.entries()) {
        await mesh.setFrontendAttest(v.attest);
        const r = await runFreshConnections(mesh.entry, CLIENTS, roundS);
        per[i]!.push(r);
        perRound.push({ name: v.name, round, ...r });
        say(`round ${round} attest ${v.name.padEnd(38)} ${r.rps.toFixed(0).padStart(6)} conn/s  p50 ${r.p50Ms.toFixed(2)} ms  errors ${r.errors}`);
      }
    }
  } finally {
    await mesh.close();
  }
  const scenarios = variants.map((v, i) => {
    const rs = per[i]!;
    const m = (f: (r: FreshResult) => number): number => median(rs.map(f)) ?? NaN;
    return { name: v.name, rps: m((r) => r.rps), p50Ms: m((r) => r.p50Ms), p99Ms: m((r) => r.p99Ms), errors: rs.reduce((a, r) => a + r.errors, 0) };
  });
  const over = (i: number, f: (r: FreshResult) => number): number | null => medianOfRatios(per[i]!.map((r, k) => ratio(f(r), f(per[0]![k]!)))).value;
  return {
    tool: 'node fresh-connection generator (bench/dataplane/fresh-connections.ts)',
    clients: CLIENTS,
    roundS,
    rounds,
    scenarios,
    perRound,
    ratios: {
      attestUidConnRateOverNone: over(1, (r) => r.rps),
      attestProcessConnRateOverNone: over(2, (r) => r.rps),
      attestUidP50OverNone: over(1, (r) => r.p50Ms),
      attestProcessP50OverNone: over(2, (r) => r.p50Ms),
    },
  };
}
