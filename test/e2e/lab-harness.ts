// Starts a real multi-region mesh (every component its own process) for an
// end-to-end test, on a loopback range of its own, and tears it down.
import { after } from 'node:test';
import { execFile, spawn } from 'node:child_process';
import { CLI_PATH } from '../../src/lab/process-supervisor.js';
import { promisify } from 'node:util';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../../src/lab/lab.js';
import { DEFAULT_RTT_MS, PORTS } from '../../src/lab/lab-topology.js';
import type { ServiceProtocol, WireAttest } from '../../src/mesh/mesh-config.js';
import { API_VERSION } from '../../src/policy/resources.js';
import { NAMESPACE } from '../../src/lab/lab-topology.js';
import type { LabExtraResources } from '../../src/lab/lab-resources.js';
import { stringify } from 'yaml';

/**
 * A 127.N prefix in [lo, hi], so concurrently running test files do not
 * collide. Each file that starts a lab has a range of its own: outage-expiry
 * 10-29, outage 30-59, attestation 60-79, rogue-node 80-83, lab 100-129,
 * lab-stop 130-149, attack-lab 150-174, mesh 175-210, dashboard 211-214, prometheus 215-218,
 * flows 219-222, operator commands 223-226, traces 227-230, data probes 231-234 (third octet 241; Kubernetes controller-source 242), relay 235-240, drills 241-246, HTTP data 247-250,
 * protocols 251-254, failure-handling 84-99, PostgreSQL replication (pg-probe, src/data/pg-probe.test.ts) 231-234 with third octet 240
 * (3-8: src/lab/free-prefix.test.ts; 9: test/controller/startup-failure.test.ts). A lab uses
 * 127.N.<region 1-3>.*; files that take a random /24 of a fixed 127.N use
 * third octets from 10 up, so they never meet a lab.
 */
export function randomIpPrefix(lo: number, hi: number): string {
  return `127.${lo + Math.floor(Math.random() * (hi - lo + 1))}`;
}

const run = promisify(execFile);

/**
 * Runs the real CLI (dist/entente.mjs) to its exit, collecting its output; a
 * run still going after `guardMs` gets SIGINT (the lab then stops and reports).
 */
export function runCli(args: readonly string[], guardMs: number, env?: Readonly<Record<string, string>>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    const guard = setTimeout(() => child.kill('SIGINT'), guardMs);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** curl as a lab workload: from its address, through its node agent's proxy. The HTTP status (0 when curl failed). */
export async function curlAs(lab: Lab, service: string, url: string): Promise<number> {
  const w = lab.topology.workloads.find((x) => x.service === service)!;
  const agent = lab.topology.regions.flatMap((r) => r.agents).find((a) => a.node === w.node)!;
  try {
    const { stdout } = await run('curl', ['-s', '-m', '30', '-o', '/dev/null', '-w', '%{http_code}', '--interface', w.address, '-x', `http://${agent.ip}:${PORTS.agentProxy}`, url]);
    return Number(stdout);
  } catch (err) {
    return Number((err as { stdout?: string }).stdout ?? 0) || 0;
  }
}

/**
 * `traffic`: drive the demo routes (default off: tests make their own calls).
 * `attest`: the Workloads' selectors. Tests call as the apps with curl run by
 * this user, so the default declares this uid only; the lab's own default
 * (labAttest(): uid and node executable) is what test/e2e/attestation.test.ts uses.
 */
export async function startTestMesh(regions: string[], ipPrefix: string, opts: { svidTtl?: string; traffic?: boolean; attest?: WireAttest; extra?: LabExtraResources } = {}): Promise<Lab> {
  // Short WAN delays keep the tests quick; the latency model itself is tested with the WAN link.
  const lab = new Lab({
    regions,
    ipPrefix,
    rttMs: { ...DEFAULT_RTT_MS, 'eu-us': 20, 'eu-ap': 30, 'us-ap': 40 },
    jitterMs: 0,
    rate: 1,
    traffic: false,
    readyTimeoutMs: 90_000,
    attest: { uid: process.getuid?.() ?? 0 },
    ...opts,
  });
  try {
    await lab.start();
  } catch (err) {
    const tails = readdirSync(join(lab.workdir, 'logs'))
      .map((f) => `--- ${f}\n${readFileSync(join(lab.workdir, 'logs', f), 'utf8').split('\n').slice(-6).join('\n')}`)
      .join('\n');
    await lab.stop();
    throw new Error(`${(err as Error).message}\n${tails}`);
  }
  return lab;
}

/**
 * A last line of defence for files that run meshes in-process: if the file's
 * process is still alive `graceMs` after its last test (an open handle), list
 * the open handles on stderr — so the leak can be found — and exit with the
 * tests' own result instead of waiting for the runner's file timeout.
 * Seen once in CI (outage.test.js: every test passed, then the process stayed
 * busy) and not reproduced since.
 */
export function exitWatchdog(graceMs = 15_000): void {
  after(() => {
    const timer = setTimeout(() => {
      const p = process as unknown as { _getActiveHandles(): { constructor?: { name?: string }; localPort?: number; remotePort?: number }[] };
      const handles = p._getActiveHandles().map((h) => `${h.constructor?.name ?? '?'}${h.localPort ? ` :${h.localPort}->${h.remotePort ?? ''}` : ''}`);
      process.stderr.write(`watchdog: still running ${graceMs} ms after the last test; open handles: ${handles.join(', ')}\n`);
      process.exit(process.exitCode ?? 0);
    }, graceMs);
    timer.unref();
  });
}

/** A test-provided Service with one Workload on a named lab node; `octet` places it at 127.<prefix>.<region>.<octet>. */
export interface TestWorkload {
  readonly service: string;
  readonly region: string;
  readonly node: string;
  readonly octet: number;
  /** Service ports; none for a Workload that only calls. */
  readonly ports: readonly { port: number; targetPort: number; protocol: ServiceProtocol }[];
}

/** Where a test workload lives, for a lab started with these regions and prefix (lab-topology.ts numbering). */
export function testWorkloadAddress(regions: readonly string[], ipPrefix: string, w: Pick<TestWorkload, 'region' | 'octet'>): string {
  return `${ipPrefix}.${regions.indexOf(w.region) + 1}.${w.octet}`;
}

/**
 * The lab's extra resources for test-provided apps: each workload's Service
 * (exported, in every region's shared file) and Workload (in its region's
 * file, with the lab's attest selectors), the policies (as spec objects), and
 * outbound listeners per node.
 */
export function testResources(
  regions: readonly string[],
  ipPrefix: string,
  o: { workloads: readonly TestWorkload[]; policies: Readonly<Record<string, unknown>>; outboundPorts?: LabExtraResources['outboundPorts']; attest?: WireAttest },
): LabExtraResources {
  const doc = (kind: string, name: string, spec: unknown): string => stringify({ apiVersion: API_VERSION, kind, metadata: { name, namespace: NAMESPACE }, spec });
  const attest = o.attest ?? { uid: process.getuid?.() ?? 0 };
  const services = o.workloads.map((w) => doc('Service', w.service, { ports: w.ports, export: true }));
  const policies = Object.entries(o.policies).map(([name, spec]) => doc('AuthorizationPolicy', name, spec));
  const regionYaml: Record<string, string> = {};
  for (const w of o.workloads) {
    const y = doc('Workload', `${w.service}-1`, { service: w.service, serviceAccount: w.service, node: w.node, address: testWorkloadAddress(regions, ipPrefix, w), attest });
    regionYaml[w.region] = regionYaml[w.region] ? `${regionYaml[w.region]}---\n${y}` : y;
  }
  return { sharedYaml: [...services, ...policies].join('---\n'), regionYaml, outboundPorts: o.outboundPorts };
}
