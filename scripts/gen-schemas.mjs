#!/usr/bin/env node
// Writes schemas/*.schema.json (JSON Schemas for editors) and the Kubernetes CRDs
// (deploy/kubernetes/base/crds.yaml) from the built code:
// the zod schemas the components check their files with (src/cli/json-schemas.ts).
// Usage: npm run schemas (builds first). src/cli/json-schemas.test.ts keeps the
// committed files equal to what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { generateJsonSchemas } = await import('../dist/src/cli/json-schemas.js');
const { generateCrdsYaml } = await import('../dist/src/kubernetes/crds.js');
const dir = 'schemas';
mkdirSync(dir, { recursive: true });
for (const [file, text] of generateJsonSchemas()) {
  writeFileSync(join(dir, file), text);
  console.log(`wrote ${join(dir, file)}`);
}

// The same schemas as Kubernetes CustomResourceDefinitions (src/kubernetes/crds.test.ts keeps them equal).
const crds = join('deploy', 'kubernetes', 'base', 'crds.yaml');
mkdirSync(join('deploy', 'kubernetes', 'base'), { recursive: true });
writeFileSync(crds, generateCrdsYaml());
console.log(`wrote ${crds}`);
