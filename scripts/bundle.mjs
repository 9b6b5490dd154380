#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js) and its dependencies into
// dist/entente.mjs (the `entente` bin) plus one chunk per command family in
// dist/chunks/: each process loads a few files instead of hundreds of modules
// (half the start-up time) and parses only its own family's code.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OUT = 'dist';
const CHUNKS = 'chunks';

// Stale chunks from an earlier build would otherwise pile up (their names carry a hash).
rmSync(join(OUT, CHUNKS), { recursive: true, force: true });

// etcd3 (controller replicas) loads its gRPC definitions at run time from
// `${__dirname}/../proto`: ship them as dist/etcd-proto/ and point the loader
// there, from the chunk it lands in (checked below).
const ETCD_PROTO = 'etcd-proto';
const etcdProtoPlugin = {
  name: 'etcd3-proto',
  setup(b) {
    b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const from = '`${__dirname}/../proto/rpc.proto`';
      if (!text.includes(from)) throw new Error(`bundle: ${args.path} no longer loads ${from}; update scripts/bundle.mjs`);
      return { contents: text.replace(from, `require('node:path').join(__entente_chunk_dir, '..', '${ETCD_PROTO}', 'rpc.proto')`), loader: 'js' };
    });
  },
};
mkdirSync(join(OUT, ETCD_PROTO), { recursive: true });
for (const f of ['rpc.proto', 'kv.proto', 'auth.proto']) copyFileSync(join('node_modules', 'etcd3', 'proto', f), join(OUT, ETCD_PROTO, f));

const result = await build({
  entryPoints: { entente: 'dist/src/cli/main.js' },
  plugins: [etcdProtoPlugin],
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  // src/lab/process-supervisor.ts finds the entry from a chunk as ../entente.mjs.
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  // main.ts loads each command family with import(): split there, so that
  // `entente agent` never parses the lab, controller, anycast or identity code.
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  metafile: true,
  // Some dependencies are CommonJS and call require(); give every ESM output one.
  // The entry point's own shebang stays on the first line.
  banner: {
    js: "import { createRequire as __entente_createRequire } from 'node:module';\nconst require = __entente_createRequire(import.meta.url);\nconst __entente_chunk_dir = require('node:path').dirname(require('node:url').fileURLToPath(import.meta.url));",
  },
});
const etcdChunk = Object.entries(result.metafile.outputs).find(([, o]) => Object.keys(o.inputs).some((i) => /etcd3[\\/]lib[\\/]connection-pool\.js$/.test(i)));
if (!etcdChunk || !etcdChunk[0].startsWith(join(OUT, CHUNKS))) throw new Error(`bundle: etcd3 landed in ${etcdChunk?.[0] ?? 'no output'}, not in ${join(OUT, CHUNKS)}: the path to ${ETCD_PROTO} would be wrong`);

// V8 keeps each module's source text in the heap for as long as the process
// lives (functions compile lazily from it), and one character above U+00FF
// makes it a two-byte string: twice the memory. esbuild escapes non-ASCII
// text in code but copies comments as they are; escape those, where "\u2014"
// reads as well as the dash. Anything else non-ASCII fails the build.
const NON_ASCII = /[^\p{ASCII}]/gu;
const escapeNonAscii = (text) => text.replace(NON_ASCII, (c) => `\\u${c.codePointAt(0).toString(16).padStart(4, '0')}`);
/** Where a trailing `// comment` starts on a code line (quotes balanced before it), when all non-ASCII text is inside it; else -1. */
function trailingComment(line) {
  const firstNonAscii = line.search(NON_ASCII);
  for (let i = line.indexOf('//'); i >= 0 && i < firstNonAscii; i = line.indexOf('//', i + 1)) {
    const before = line.slice(0, i);
    if (['"', "'", '`'].every((q) => before.split(q).length % 2 === 1) && !/\\$/u.test(before)) return i;
  }
  return -1;
}
for (const file of Object.keys(result.metafile.outputs)) {
  const lines = readFileSync(file, 'utf8').split('\n');
  let changed = false;
  lines.forEach((line, i) => {
    if (!line.match(NON_ASCII)) return;
    if (/^\s*(\/\/|\/\*|\*)/u.test(line)) lines[i] = escapeNonAscii(line);
    else {
      // A dependency's comment at the end of a code line (client-node's YAML parser has some).
      const at = trailingComment(line);
      if (at < 0) throw new Error(`bundle: ${file}:${i + 1} has non-ASCII text outside a comment: ${line.trim().slice(0, 120)}`);
      lines[i] = line.slice(0, at) + escapeNonAscii(line.slice(at));
    }
    changed = true;
  });
  if (changed) writeFileSync(file, lines.join('\n'));
}

// The dashboard (src/dashboard/ui): one browser bundle and its two static
// files in dist/dashboard/, served by the controller's admin listener. No
// CDN: everything the page needs is in these three files.
const DASHBOARD = join(OUT, 'dashboard');
rmSync(DASHBOARD, { recursive: true, force: true });
mkdirSync(DASHBOARD, { recursive: true });
await build({
  entryPoints: ['src/dashboard/ui/app.ts'],
  outfile: join(DASHBOARD, 'app.js'),
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'chrome110',
  minify: true,
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join('src', 'dashboard', 'ui', f), join(DASHBOARD, f));
