// Attacks on the control plane by an enrolled node gone rogue (its own node
// key, stolen from its data dir) and by a careless operator: a poisoned
// advertise address (finding 2), a policy typo and a broken policy directory
// (6), malformed enrollment bodies, a token of the wrong kind and readable
// token files (8).
import { request as httpsRequest } from 'node:https';
import { statSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatSocketAddress, type SocketAddress } from '../../core/address.js';
import { httpJson } from '../../core/http-get-json.js';
import { enroll } from '../../node/controller-client.js';
import { adminCredential, nodeCredential, type LabView, type RegionView } from './lab-view.js';
import { tryAttack, type AttackResult } from './attack-result.js';

function controllerCall(to: SocketAddress, method: string, path: string, body: string | undefined, cred?: { keyPem: string; chainPem: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: to.host, port: to.port, method, path, rejectUnauthorized: false, agent: false, timeout: 30_000, headers: { 'content-type': 'application/json' }, ...(cred ? { key: cred.keyPem, cert: cred.chainPem } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        // A config stream that was accepted never ends: the first line is enough.
        res.on('data', (c: string) => {
          text += c;
          if (res.statusCode === 200 && text.includes('\n')) req.destroy();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end(body);
  });
}

async function nodeAdvertise(r: RegionView, node: string): Promise<string | undefined> {
  const st = await httpJson<{ nodes?: { node: string; advertise?: string }[] }>(`http://${formatSocketAddress(r.controllerAdmin)}/v1/status`);
  return st.body.nodes?.find((n) => n.node === node)?.advertise;
}

export async function advertiseAttacks(view: LabView): Promise<AttackResult[]> {
  const r = view.regions[0]!;
  const rogue = r.agents[0]!;
  const victim = r.agents[1]!;
  const cred = nodeCredential(rogue);
  const before = await nodeAdvertise(r, rogue.node);
  const out: AttackResult[] = [];
  const poisons = [
    ['not an address', 'not-an-address'],
    ['a port out of range', `${rogue.inbound.host}:99999`],
    ["the controller's own agent API", formatSocketAddress(r.controllerAgents)],
    ["another node's inbound port", formatSocketAddress(victim.inbound)],
  ] as const;
  for (const [what, value] of poisons) {
    out.push(
      await tryAttack('2 poisoned advertise', `${rogue.node}'s node key: config stream with advertise=${value} (${what})`, async () => {
        const res = await controllerCall(r.controllerAgents, 'GET', `/v1/config/stream?advertise=${encodeURIComponent(value)}`, undefined, cred);
        const now = await nodeAdvertise(r, rogue.node);
        return { held: res.status !== 200 && now !== value, detail: `HTTP ${res.status} ${res.body.slice(0, 160).trim()}; registry now has ${now ?? 'none'} (was ${before ?? 'none'})` };
      }),
    );
  }
  return out;
}

export async function enrollmentAttacks(view: LabView): Promise<AttackResult[]> {
  const r = view.regions[0]!;
  const out: AttackResult[] = [];
  for (const body of ['null', '[]', '"token"', '42']) {
    out.push(
      await tryAttack('8 enrollment body', `POST /v1/enroll with the JSON body ${body}`, async () => {
        const res = await controllerCall(r.controllerAgents, 'POST', '/v1/enroll', body);
        return { held: res.status === 400, detail: `HTTP ${res.status} ${res.body.slice(0, 160)}` };
      }),
    );
  }
  out.push(
    await tryAttack('8 token kind', 'a gateway enrolls with an agent join token', async () => {
      const node = `attack-gw-${process.pid}`;
      const t = await httpJson<{ token?: string }>(`http://${formatSocketAddress(r.controllerAdmin)}/v1/tokens`, {
        method: 'POST',
        body: { node, kind: 'agent' },
        headers: { authorization: `Bearer ${adminCredential(r)}` },
      });
      if (!t.body.token) return { held: false, detail: `could not create the token: HTTP ${t.status}` };
      try {
        await enroll(`https://${formatSocketAddress(r.controllerAgents)}`, t.body.token, node, 'gateway');
        return { held: false, detail: 'enrolled as a gateway with an agent token' };
      } catch (err) {
        return { held: true, detail: `refused: ${(err as Error).message}` };
      }
    }),
  );
  for (const reg of view.regions) {
    for (const path of [...reg.agents.map((a) => a.configPath), reg.gatewayConfigPath]) {
      out.push(
        await tryAttack('8 token files', `mode of ${path.slice(view.workdir.length + 1)} (holds a join token)`, async () => {
          const mode = statSync(path).mode & 0o777;
          return { held: (mode & 0o077) === 0, detail: `mode ${mode.toString(8)}` };
        }),
      );
    }
  }
  return out;
}

export async function policyAttacks(view: LabView): Promise<AttackResult[]> {
  const r = view.regions[0]!;
  const admin = `http://${formatSocketAddress(r.controllerAdmin)}`;
  const auth = { authorization: `Bearer ${adminCredential(r)}` };
  const file = join(r.resourcesDir, 'zz-attack-typo.yaml');
  const typo = ['apiVersion: entente.dev/v1alpha1', 'kind: AuthorizationPolicy', 'metadata: { name: attack-typo, namespace: shop }', 'spec:', '  selector: { services: [ledgr] }', '  action: DENY', '  rules: [{}]', ''].join('\n');
  return [
    await tryAttack('6 policy fails closed', 'a DENY whose selector names no Service (ledgr for ledger), reloaded', async () => {
      writeFileSync(file, typo);
      try {
        const res = await httpJson<{ ok?: boolean; errors?: { code?: string; message?: string }[] }>(`${admin}/v1/resources/reload`, { method: 'POST', headers: auth });
        return { held: res.body.ok === false, detail: `reload answered ok=${String(res.body.ok)} ${JSON.stringify(res.body.errors?.[0] ?? '').slice(0, 200)}` };
      } finally {
        rmSync(file, { force: true });
        await httpJson(`${admin}/v1/resources/reload`, { method: 'POST', headers: auth }).catch(() => undefined);
      }
    }),
  ];
}
