// JSON Schemas of every file kind, generated from the zod schemas the
// components check them with (z.toJSONSchema), for editors: the committed
// files under schemas/ are written by scripts/gen-schemas.mjs from this, and a
// test keeps them equal. What JSON Schema cannot say (an address parses, a
// duration's range, a cross-key check) only `entente validate` checks.
import * as z from 'zod';
import { RESOURCE_SCHEMAS } from '../policy/resources.js';
import { policyCasesSchema } from '../policy/tools/cases.js';
import { CONFIG_KINDS } from './config-kinds.js';

export interface SchemaFile {
  /** File name under schemas/. */
  readonly file: string;
  readonly title: string;
  readonly schema: z.ZodType;
}

export const SCHEMA_FILES: readonly SchemaFile[] = [
  { file: 'region.schema.json', title: 'Entente controller region.yaml', schema: CONFIG_KINDS.region.schema },
  { file: 'agent.schema.json', title: 'Entente agent.yaml', schema: CONFIG_KINDS.agent.schema },
  { file: 'gateway.schema.json', title: 'Entente gateway.yaml', schema: CONFIG_KINDS.gateway.schema },
  { file: 'anycast.schema.json', title: 'Entente anycast.yaml', schema: CONFIG_KINDS.anycast.schema },
  {
    file: 'resources.schema.json',
    title: `Entente policy resource (${Object.keys(RESOURCE_SCHEMAS).join(', ')}; entente.dev/v1alpha1)`,
    // Every kind the loader takes, from its own table: a new kind cannot be left out of the editor's schema.
    schema: z.discriminatedUnion('kind', Object.values(RESOURCE_SCHEMAS) as unknown as [(typeof RESOURCE_SCHEMAS)['Service'], ...(typeof RESOURCE_SCHEMAS)[keyof typeof RESOURCE_SCHEMAS][]]),
  },
  { file: 'policy-cases.schema.json', title: 'Entente policy test cases (entente policy test DIR CASES.yaml)', schema: policyCasesSchema },
];

/**
 * The text of each schema file: the input side of each schema (what a file
 * may hold), as JSON Schema draft-07, the newest draft the YAML language
 * server (VS Code's YAML extension) documents support for; 2-space JSON.
 */
export function generateJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of SCHEMA_FILES) {
    const json = z.toJSONSchema(s.schema, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Record<string, unknown>;
    const { $schema, ...rest } = json;
    out.set(s.file, `${JSON.stringify({ $schema, title: s.title, ...rest }, null, 2)}\n`);
  }
  return out;
}
