// The file kinds `entente validate` knows, each with the schema its component
// checks it with, and how a file's kind is told from its content: resources
// by apiVersion/kind, test cases by a list of expect:, configs by which
// component's keys the top level uses.
import { basename } from 'node:path';
import { isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type * as z from 'zod';
import { controllerConfigSchema } from '../controller/controller-config.js';
import { agentConfigSchema } from '../agent/agent-config.js';
import { gatewayConfigSchema } from '../gateway/gateway-config.js';
import { anycastConfigSchema } from '../anycast/config.js';
import { closestName, objectKeysAt } from '../core/schema-keys.js';

export type ConfigKind = 'region' | 'agent' | 'gateway' | 'anycast';
export type FileKind = ConfigKind | 'resources' | 'cases';

export const CONFIG_KINDS: Readonly<Record<ConfigKind, { readonly schema: z.ZodType; readonly title: string; readonly component: string }>> = {
  region: { schema: controllerConfigSchema, title: 'controller region.yaml', component: 'entente controller --config' },
  agent: { schema: agentConfigSchema, title: 'agent.yaml', component: 'entente agent --config' },
  gateway: { schema: gatewayConfigSchema, title: 'gateway.yaml', component: 'entente gateway --config' },
  anycast: { schema: anycastConfigSchema, title: 'anycast.yaml', component: 'entente anycast --config' },
};

export const KIND_TITLES: Readonly<Record<FileKind, string>> = {
  ...Object.fromEntries(Object.entries(CONFIG_KINDS).map(([k, v]) => [k, v.title])) as Record<ConfigKind, string>,
  resources: 'policy resources',
  cases: 'policy test cases',
};

/** Keys only one kind has: they settle a tie of the key counts. */
const DISTINCTIVE: Readonly<Record<ConfigKind, readonly string[]>> = {
  region: ['region', 'trustDomain', 'resources'],
  agent: ['node', 'outboundPorts', 'attestation'],
  gateway: ['name', 'metrics'],
  anycast: ['localAs', 'routerId', 'announce'],
};

const keysOf = (node: unknown): string[] => (isMap(node) ? node.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : [])) : []);

/** The top-level keys of each document that has a mapping at the top (also in a file with syntax errors). */
function topLevelKeys(text: string): { maps: string[][]; caseList: boolean } {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  return {
    maps: list.flatMap((d) => (isMap(d.contents) ? [keysOf(d.contents)] : [])),
    // `entente policy test` cases: a list of mappings with expect.
    caseList: list.some((d) => isSeq(d.contents) && d.contents.items.some((i) => keysOf(i).includes('expect'))),
  };
}

/**
 * The kind of a file, from its content: a document with apiVersion or kind is
 * resources, a list of mappings with expect is policy test cases; otherwise the
 * config kind whose schema has most of the top-level keys, or keys a typo away
 * from them (ties go to the one with a key only it has). When the content does not
 * tell (no keys, or a tie), a file name containing region, agent, gateway or
 * anycast does. undefined: neither tells.
 */
export function recogniseKind(text: string, file: string): FileKind | undefined {
  let found: ReturnType<typeof topLevelKeys>;
  try {
    found = topLevelKeys(text);
  } catch {
    found = { maps: [], caseList: false };
  }
  const docs = found.maps;
  if (docs.some((keys) => keys.includes('apiVersion') || keys.includes('kind'))) return 'resources';
  if (found.caseList) return 'cases';
  const keys = docs[0] ?? [];
  const scored = (Object.keys(CONFIG_KINDS) as ConfigKind[]).map((kind) => {
    const shape = objectKeysAt(CONFIG_KINDS[kind].schema, []) ?? [];
    // A misspelt key counts for the kind it is close to, so a typo does not change the kind.
    const missing = shape.filter((k) => !keys.includes(k));
    const score = keys.filter((k) => shape.includes(k) || closestName(k, missing) !== undefined).length;
    return { kind, score, distinctive: keys.some((k) => DISTINCTIVE[kind].includes(k)) };
  });
  const top = Math.max(...scored.map((s) => s.score));
  let best = top > 0 ? scored.filter((s) => s.score === top) : [];
  if (best.length > 1) best = best.filter((s) => s.distinctive);
  if (best.length === 1) return best[0]!.kind;
  const name = basename(file).toLowerCase();
  return (Object.keys(CONFIG_KINDS) as ConfigKind[]).find((k) => name.includes(k));
}
