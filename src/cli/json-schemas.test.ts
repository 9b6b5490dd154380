// The committed JSON Schemas (schemas/*.schema.json) are what
// scripts/gen-schemas.mjs writes from the components' zod schemas now: a
// schema change without `npm run schemas` fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateJsonSchemas } from './json-schemas.js';

const DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

test('schemas/ holds exactly the generated JSON Schemas', () => {
  const generated = generateJsonSchemas();
  assert.deepEqual(readdirSync(DIR).sort(), [...generated.keys()].sort(), 'the files under schemas/');
  for (const [file, text] of generated) {
    assert.equal(readFileSync(`${DIR}${file}`, 'utf8'), text, `schemas/${file} is stale: run npm run schemas`);
  }
});

test('each schema rejects an unknown top-level key, as the loaders do', () => {
  for (const [file, text] of generateJsonSchemas()) {
    const s = JSON.parse(text) as { additionalProperties?: boolean; oneOf?: { additionalProperties?: boolean }[]; items?: { additionalProperties?: boolean } };
    const strict = s.additionalProperties ?? s.items?.additionalProperties ?? (s.oneOf?.every((o) => o.additionalProperties === false) ? false : undefined);
    assert.equal(strict, false, file);
  }
});
