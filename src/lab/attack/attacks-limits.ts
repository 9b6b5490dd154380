// Attacks on resources (finding 7): a connection flood at the gateway from one
// source, a ClientHello followed by silence at an agent's mesh port, and more
// concurrent HTTP/2 streams on one session than an agent should carry.
import { connect as netConnect, createServer, type Socket, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { formatMeshSni } from '../../mesh/sni-name.js';
import { formatSocketAddress, parseSocketAddress, type SocketAddress } from '../../core/address.js';
import { eventually } from '../../core/eventually.js';
import { findWorkload, regionOf, workloadCredential, type LabView, type RegionView } from './lab-view.js';
import { meshSession, proxyRequest } from './attack-tools.js';
import { tryAttack, type AttackResult } from './attack-result.js';

const FLOOD = 1100; // above the default per-source cap (1024), far below the global one

/** A real ClientHello as Node's TLS client sends it, captured on a throwaway local server. */
async function captureClientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const got = new Promise<Buffer>((resolve) => server.once('connection', (s: Socket) => s.once('data', (c: Buffer) => (resolve(c), s.destroy()))));
    const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    client.on('error', () => undefined);
    const hello = await got;
    client.destroy();
    return hello;
  } finally {
    server.close();
  }
}

async function metricSum(r: RegionView, name: string, label: string): Promise<number> {
  const gw = parse(readFileSync(r.gatewayConfigPath, 'utf8')) as { metrics?: string };
  if (!gw.metrics) return Number.NaN;
  const m = parseSocketAddress(gw.metrics, 'gateway metrics');
  const text = await fetch(`http://${formatSocketAddress(m)}/metrics`).then((x) => x.text());
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

function openRaw(to: SocketAddress, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = netConnect({ host: to.host, port: to.port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

export async function limitAttacks(view: LabView): Promise<AttackResult[]> {
  const out: AttackResult[] = [];
  const frontend = findWorkload(view, 'frontend')!;
  const catalog = findWorkload(view, 'catalog')!;
  const target = regionOf(view, catalog);

  out.push(
    await tryAttack('7 limits', `${FLOOD} idle connections from one source address to ${target.name}'s gateway; meanwhile frontend calls catalog`, async () => {
      // A source address of the lab's loopback range that no component uses.
      const source = target.gateway.host.replace(/\.\d+$/, '.250');
      const metric = 'entente_gateway_connections_total';
      const before = await metricSum(target, metric, 'result="source_over_capacity"');
      const held: Socket[] = [];
      try {
        for (let i = 0; i < FLOOD; i++) {
          const s = await openRaw(target.gateway, source);
          if (s) {
            s.on('error', () => undefined);
            held.push(s);
          }
        }
        const refused = await eventually(async () => {
          const n = await metricSum(target, metric, 'result="source_over_capacity"');
          return n > before ? n - before : undefined;
        }, { what: 'the gateway to count refusals over the per-source cap', timeoutMs: 20_000 }).catch(() => 0);
        const call = await proxyRequest(frontend.agent.httpProxy, frontend.address, 'GET', `http://${catalog.service}.shop.mesh/items`);
        return { held: refused > 0 && call.status === 200, detail: `${refused} connections refused over the per-source cap; frontend -> catalog meanwhile: HTTP ${call.status} ${call.error ?? ''}` };
      } finally {
        for (const s of held) s.destroy();
      }
    }),
  );

  const payments = findWorkload(view, 'payments') ?? findWorkload(view, 'ledger')!;
  const sni = formatMeshSni({ workload: payments.name, namespace: 'shop', node: payments.agent.node, trustDomain: regionOf(view, payments).trustDomain });
  out.push(
    await tryAttack('7 limits', `a valid ClientHello to ${payments.agent.node}'s mesh port, then silence`, async () => {
      const hello = await captureClientHello(sni);
      const s = await openRaw(payments.agent.inbound, '127.0.0.1');
      if (!s) return { held: false, detail: 'could not connect' };
      const start = Date.now();
      let closedAfter: number | undefined;
      s.on('error', () => undefined);
      s.on('close', () => (closedAfter = Date.now() - start));
      s.resume();
      s.write(hello);
      try {
        await eventually(() => closedAfter !== undefined, { what: 'the agent to drop the silent handshake', timeoutMs: 40_000 });
      } catch {
        /* reported below */
      } finally {
        s.destroy();
      }
      return { held: closedAfter !== undefined, detail: closedAfter !== undefined ? `dropped after ${closedAfter} ms` : 'still open after 40 s' };
    }),
  );

  out.push(
    await tryAttack('7 limits', `150 concurrent CONNECT streams on one session to ${payments.name} (frontend's SVID)`, async () => {
      const cred = workloadCredential(frontend);
      const s = await meshSession(payments.agent.inbound, sni, cred.keyPem, cred.chainPem);
      if (!s.session) return { held: false, detail: `no session (${s.error})` };
      const session = s.session;
      // Count streams open at the same time (answered 200, not closed): none is closed by us
      // until the answers settle, so the peak is what the agent let one session hold.
      let open = 0;
      let peak = 0;
      let answered = 0;
      let lastChange = Date.now();
      for (let i = 0; i < 150; i++) {
        const stream = session.request({ ':method': 'CONNECT', ':authority': `${payments.address}:${payments.app.port}` }, { endStream: false });
        let accepted = false;
        stream.on('response', (h) => {
          answered++;
          lastChange = Date.now();
          if (Number(h[':status']) !== 200) return;
          accepted = true;
          open++;
          peak = Math.max(peak, open);
        });
        stream.on('close', () => {
          if (accepted) open--;
          lastChange = Date.now();
        });
        stream.on('error', () => undefined);
      }
      try {
        await eventually(() => answered > 0 && Date.now() - lastChange > 2000, { what: 'the answers to settle', timeoutMs: 30_000 }).catch(() => undefined);
        return { held: peak > 0 && peak <= 100, detail: `at most ${peak} of 150 streams open at once (${answered} answered)` };
      } finally {
        session.destroy();
      }
    }),
  );
  return out;
}
