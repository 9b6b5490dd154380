// A closed-loop load of fresh connections, one request each, run as its own
// process (`node fresh-connections.js host port clients seconds`): what the
// attestation scenario measures, since a caller is attested once per connection.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { SocketAddress } from '../../src/core/address.js';
import { percentile } from '../../src/lab/latency-stats.js';

export interface FreshResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

const thisFile = fileURLToPath(import.meta.url);

export function runFreshConnections(at: SocketAddress, clients: number, durationS: number): Promise<FreshResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [thisFile, at.host, String(at.port), String(clients), String(durationS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const kill = setTimeout(() => p.kill('SIGKILL'), (durationS + 30) * 1000);
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.once('error', reject);
    p.once('close', () => {
      clearTimeout(kill);
      try {
        resolve(JSON.parse(out) as FreshResult);
      } catch {
        reject(new Error(`fresh-connection load generator output not understood: ${out}`));
      }
    });
  });
}

async function load(host: string, port: number, clients: number, durationS: number): Promise<FreshResult> {
  const until = Date.now() + durationS * 1000;
  const lat: number[] = [];
  let errors = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const r = request({ host, port, path: '/', agent: false, headers: { connection: 'close' }, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) errors++;
          lat.push(performance.now() - t0);
          resolve();
        });
      });
      r.on('timeout', () => r.destroy());
      r.on('error', () => {
        errors++;
        resolve();
      });
      r.end();
    });
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) await one();
    }),
  );
  lat.sort((a, b) => a - b);
  return { rps: lat.length / durationS, p50Ms: percentile(lat, 50) ?? NaN, p99Ms: percentile(lat, 99) ?? NaN, errors };
}

if (process.argv[1] === thisFile) {
  const [host, port, clients, seconds] = process.argv.slice(2);
  void load(host!, Number(port), Number(clients), Number(seconds)).then((r) => process.stdout.write(JSON.stringify(r)));
}
