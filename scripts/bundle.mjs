#!/usr/bin/env node
// Bundles the compiled CLI (dist/src/cli/main.js) and its dependencies into
// one file, dist/entente.mjs: the `entente` bin. One file loads in about half
// the time of hundreds of modules, which is what a new agent's enrollment and
// every lab process pay at start-up.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/entente.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  // The entry point's own shebang stays on the first line.
  banner: { js: "import { createRequire as __entente_createRequire } from 'node:module';\nconst require = __entente_createRequire(import.meta.url);" },
});
