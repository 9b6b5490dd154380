// The anycast client for the namespace tests: calls one address over and over
// (a new connection each time, like a device reconnecting) and prints one JSON
// line per attempt: {"t": epoch ms, "ok": true, "site": "a"} or an error.
// Usage: node probe-client.js URL INTERVAL_MS TIMEOUT_MS
import { request } from 'node:http';

const [url, intervalText, timeoutText] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: probe-client URL [INTERVAL_MS] [TIMEOUT_MS]\n');
  process.exit(2);
}
const intervalMs = Number(intervalText ?? 20);
const timeoutMs = Number(timeoutText ?? 200);

function once(): Promise<string> {
  return new Promise((resolve) => {
    const t = Date.now();
    const req = request(url!, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(JSON.stringify({ t, ok: true, site: body.trim() })));
      res.on('error', (err: NodeJS.ErrnoException) => resolve(JSON.stringify({ t, ok: false, error: err.code ?? err.message })));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(JSON.stringify({ t, ok: false, error: err.code ?? err.message })));
    req.end();
  });
}

let running = true;
process.on('SIGTERM', () => (running = false));
while (running) {
  const started = Date.now();
  process.stdout.write(`${await once()}\n`);
  await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
}
