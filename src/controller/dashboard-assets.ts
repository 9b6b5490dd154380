// The dashboard's static files (built by scripts/bundle.mjs into
// dist/dashboard/), served by every controller's admin listener under
// /dashboard/. Read once at start: a handful of small files, no disk read per
// request and no path from the request ever reaches the file system.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

// The page loads only its own files and talks only to its own controller.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export interface DashboardAssets {
  /** Answers GET /dashboard and /dashboard/*; false when the path is not the dashboard's. */
  serve(path: string, res: ServerResponse): boolean;
  readonly available: boolean;
}

/** dist/dashboard, seen from dist/entente.mjs, a bundle chunk in dist/chunks/, or dist/src/controller/ (tsc output). */
function findDir(): string | undefined {
  for (const rel of ['./dashboard/', '../dashboard/', '../../dashboard/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

export function loadDashboardAssets(dir = findDir()): DashboardAssets {
  const files = new Map<string, { body: Buffer; type: string }>();
  if (dir !== undefined) for (const [name, type] of Object.entries(FILES)) if (existsSync(join(dir, name))) files.set(name, { body: readFileSync(join(dir, name)), type });
  const available = files.has('index.html');
  return {
    available,
    serve(path, res) {
      if (path === '/dashboard') {
        res.writeHead(301, { location: '/dashboard/' });
        res.end();
        return true;
      }
      if (!path.startsWith('/dashboard/')) return false;
      const name = path.slice('/dashboard/'.length) || 'index.html';
      const f = files.get(name);
      if (!f) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS });
        res.end(available ? `no dashboard file ${name}\n` : 'the dashboard was not built: run npm run build\n');
        return true;
      }
      res.writeHead(200, { 'content-type': f.type, 'content-length': f.body.length, ...SECURITY_HEADERS });
      res.end(f.body);
      return true;
    },
  };
}
