// The keys a zod object schema accepts at a key path, and the nearest of them
// to a misspelt key: the "did you mean" of every unknown-key message.
import type * as z from 'zod';

// Walks the schema definition (zod's documented `_zod.def`). Wrappers
// (optional, default, pipe/transform) are looked through; a union offers the
// keys of all its object options.
interface DefLike {
  type: string;
  innerType?: SchemaLike;
  in?: SchemaLike;
  shape?: Record<string, SchemaLike>;
  element?: SchemaLike;
  valueType?: SchemaLike;
  options?: SchemaLike[];
}
interface SchemaLike { _zod: { def: DefLike } }

function unwrap(s: SchemaLike | undefined): SchemaLike | undefined {
  let cur = s;
  for (let i = 0; i < 16 && cur; i++) {
    const d: DefLike = cur._zod.def;
    const next = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (!next) break;
    cur = next;
  }
  return cur;
}

function shapesAt(schema: SchemaLike | undefined, path: readonly PropertyKey[]): SchemaLike[] {
  let current = [unwrap(schema)].filter((s): s is SchemaLike => s !== undefined);
  for (const seg of path) {
    const next: SchemaLike[] = [];
    for (const s of current.flatMap(expandUnion)) {
      const d = s._zod.def;
      const child = d.type === 'object' && typeof seg === 'string' ? d.shape?.[seg] : d.type === 'array' ? d.element : d.type === 'record' ? d.valueType : undefined;
      const u = unwrap(child);
      if (u) next.push(u);
    }
    current = next;
  }
  return current.flatMap(expandUnion);
}

function expandUnion(s: SchemaLike): SchemaLike[] {
  const d = s._zod.def;
  return d.type === 'union' && d.options ? d.options.map(unwrap).filter((o): o is SchemaLike => o !== undefined) : [s];
}

/** The keys of the object schema(s) at `path`, or undefined when there is none. */
export function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  const keys = new Set<string>();
  let found = false;
  for (const s of shapesAt(schema as unknown as SchemaLike, path)) {
    const d = s._zod.def;
    if (d.type !== 'object' || !d.shape) continue;
    found = true;
    for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return found ? [...keys] : undefined;
}

/** The suggestion for a misspelt name: a case-insensitive match, else the nearest within edit distance 2. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = c.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
