#!/usr/bin/env node
// Writes schemas/*.schema.json (JSON Schemas for editors) from the built code:
// the zod schemas the components check their files with (src/cli/json-schemas.ts).
// Usage: npm run schemas (builds first). src/cli/json-schemas.test.ts keeps the
// committed files equal to what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const { generateJsonSchemas } = await import('../dist/src/cli/json-schemas.js');
const dir = 'schemas';
mkdirSync(dir, { recursive: true });
for (const [file, text] of generateJsonSchemas()) {
  writeFileSync(join(dir, file), text);
  console.log(`wrote ${join(dir, file)}`);
}
