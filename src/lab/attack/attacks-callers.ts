// Attacks by a local user and by a caller holding a (stolen) workload key:
// impersonating a workload by its address (finding 1), path tricks on L7
// (3), undeclared ports (4), spoofed identity headers (5), and node SVIDs
// used as callers (8).
import { formatMeshSni } from '../../mesh/sni-name.js';
import { formatSocketAddress } from '../../core/address.js';
import { findWorkload, nodeCredential, regionOf, workloadCredential, type LabView, type WorkloadView } from './lab-view.js';
import { meshSession, openConnect, proxyRequest, run, tunnelRaw } from './attack-tools.js';
import { tryAttack, type AttackResult } from './attack-result.js';

const NS = 'shop';
const STATS_PORT_OF = (w: WorkloadView): number => w.stats.port;

/** A caller and a target that policy lets talk over HTTP (frontend -> payments in three regions, else catalog -> ledger). */
function allowedHttpPair(view: LabView): { from: WorkloadView; to: WorkloadView; method: string; path: string } {
  const frontend = findWorkload(view, 'frontend');
  const payments = findWorkload(view, 'payments');
  if (frontend && payments) return { from: frontend, to: payments, method: 'POST', path: '/charge' };
  return { from: findWorkload(view, 'catalog')!, to: findWorkload(view, 'ledger')!, method: 'GET', path: '/balance' };
}

const meshUrl = (to: WorkloadView, path: string): string => `http://${to.service}.${NS}.mesh${path}`;

export async function attestationAttacks(view: LabView): Promise<AttackResult[]> {
  const { from, to, method, path } = allowedHttpPair(view);
  const proxy = `http://${formatSocketAddress(from.agent.httpProxy)}`;
  const url = meshUrl(to, path);
  return [
    await tryAttack('1 attestation', `user nobody: curl --interface ${from.address} -x ${proxy} -X ${method} ${url}`, async () => {
      const r = await run('runuser', ['-u', 'nobody', '--', 'curl', '-s', '-w', '\n%{http_code}', '--max-time', '30', '--interface', from.address, '-x', proxy, '-X', method, url]);
      const lines = r.stdout.trimEnd().split('\n');
      const status = Number(lines.pop());
      return { held: status === 403, detail: `HTTP ${status || '-'}: ${(lines.join(' ') || r.stderr).trim().slice(0, 240)}` };
    }),
    await tryAttack('1 attestation', `control: the workload's own kind of process (node, the lab's user) makes the same call`, async () => {
      const r = await proxyRequest(from.agent.httpProxy, from.address, method, url);
      return { held: r.status === 200, detail: `HTTP ${r.status} ${r.error ?? r.body.slice(0, 160)}` };
    }),
  ];
}

/** Each trick: the raw path sent, and the path the app must see if the request is let through. */
const PATH_TRICKS: readonly { raw: (p: string) => string; normalized: (p: string) => string }[] = [
  { raw: (p) => `/admin/..${p}`, normalized: (p) => p },
  { raw: (p) => `/admin/%2e%2e${p}`, normalized: (p) => p },
  { raw: (p) => `/${p}`, normalized: (p) => p },
  { raw: (p) => `${p.slice(0, 3)}%${p.charCodeAt(3).toString(16)}${p.slice(4)}`, normalized: (p) => p },
  { raw: (p) => `/./${p.slice(1)}`, normalized: (p) => p },
];

export async function pathAttacks(view: LabView): Promise<AttackResult[]> {
  const { from, to, method, path } = allowedHttpPair(view);
  const out: AttackResult[] = [];
  for (const trick of PATH_TRICKS) {
    const raw = trick.raw(path);
    out.push(
      await tryAttack('3 L7 path', `${method} ${raw} inside a CONNECT tunnel to ${to.service}`, async () => {
        const t = await tunnelRaw(from.agent.httpProxy, from.address, `${to.service}.${NS}.mesh:80`, `${method} ${raw} HTTP/1.1\r\nhost: ${to.service}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        if (!t.inner) return { held: t.connect.status !== 0, detail: `tunnel refused: HTTP ${t.connect.status}` };
        if (t.inner.status !== 200) return { held: true, detail: `refused: HTTP ${t.inner.status}` };
        const seen = (JSON.parse(t.inner.body) as { path?: string }).path;
        return { held: seen === trick.normalized(path), detail: `allowed; the app received ${JSON.stringify(seen)}` };
      }),
    );
  }
  return out;
}

export async function headerAttacks(view: LabView): Promise<AttackResult[]> {
  const { from, to, method, path } = allowedHttpPair(view);
  const forged = `By=spiffe://${regionOf(view, to).trustDomain}/ns/${NS}/sa/${to.service};URI=spiffe://${regionOf(view, to).trustDomain}/ns/${NS}/sa/admin`;
  const out: AttackResult[] = [];
  for (const name of ['x-forwarded-client-cert', 'X-Forwarded-Client-Cert', 'x_forwarded_client_cert']) {
    out.push(
      await tryAttack('5 identity headers', `${name}: <forged admin identity> on ${method} ${path} to ${to.service}`, async () => {
        const t = await tunnelRaw(from.agent.httpProxy, from.address, `${to.service}.${NS}.mesh:80`, `${method} ${path} HTTP/1.1\r\nhost: ${to.service}\r\n${name}: ${forged}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        if (!t.inner) return { held: true, detail: `tunnel refused: HTTP ${t.connect.status}` };
        if (t.inner.status !== 200) return { held: true, detail: `refused: HTTP ${t.inner.status}` };
        const echo = JSON.parse(t.inner.body) as { caller?: unknown; identityHeaders?: Record<string, unknown> };
        const seen = JSON.stringify(echo.identityHeaders ?? { 'x-forwarded-client-cert': echo.caller });
        return { held: !seen.includes('sa/admin'), detail: `the app saw ${seen.slice(0, 240)}` };
      }),
    );
  }
  return out;
}

/** With a stolen workload key, straight at the destination agent's mesh port: an undeclared port, then a node SVID as caller. */
export async function meshPortAttacks(view: LabView): Promise<AttackResult[]> {
  const { from, to } = allowedHttpPair(view);
  const cred = workloadCredential(from);
  const sni = formatMeshSni({ workload: to.name, namespace: NS, node: to.agent.node, trustDomain: regionOf(view, to).trustDomain });
  const out: AttackResult[] = [];
  out.push(
    await tryAttack('4 undeclared port', `${from.service}'s SVID: CONNECT ${to.address}:${STATS_PORT_OF(to)} (the app's stats port, in no Service)`, async () => {
      const s = await meshSession(to.agent.inbound, sni, cred.keyPem, cred.chainPem);
      if (!s.session) return { held: false, detail: `no session to attack through (${s.error}); cannot tell` };
      try {
        const r = await openConnect(s.session, `${to.address}:${STATS_PORT_OF(to)}`);
        r.close();
        return { held: r.status !== 200, detail: `HTTP ${r.status} ${r.reason ?? ''}` };
      } finally {
        s.session.destroy();
      }
    }),
  );
  const node = nodeCredential(from.agent);
  out.push(
    await tryAttack('8 node SVID as caller', `${from.agent.node}'s node SVID opens a mesh session to ${to.name}`, async () => {
      const s = await meshSession(to.agent.inbound, sni, node.keyPem, node.chainPem);
      if (!s.session) return { held: true, detail: `session refused: ${s.error}` };
      try {
        // Policy may still deny it, but only workload identities may call at all: the session itself must be refused.
        const r = await openConnect(s.session, `${to.address}:${to.app.port}`);
        r.close();
        return { held: false, detail: `session accepted; CONNECT answered ${r.status} ${r.reason ?? ''}` };
      } finally {
        s.session.destroy();
      }
    }),
  );
  return out;
}
