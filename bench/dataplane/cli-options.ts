// `npm run bench -- dataplane` options, checked whole before anything starts:
// every bad flag is reported at once with its value and what was expected.

export const PARTS = ['throughput', 'newconn', 'open-loop', 'resources', 'attest'] as const;
export type Part = (typeof PARTS)[number];

export interface DataplaneOptions {
  readonly rounds: number;
  readonly durationS: number;
  readonly connections: number;
  /** The parts to run; attest only when named (it measures connection set-up with its own harness). */
  readonly parts: ReadonlySet<Part>;
  /** Run the attestation scenario too, after the others (it writes dataplane-attest.json). */
  readonly keepAttest: boolean;
}

export const USAGE = 'usage: npm run bench -- dataplane [--rounds 3] [--duration 10] [--connections 32] [--only throughput,newconn,open-loop,resources,attest] [--keep-attest]';

const INTS: Record<string, { key: 'rounds' | 'durationS' | 'connections'; min: number; max: number }> = {
  '--rounds': { key: 'rounds', min: 1, max: 20 },
  '--duration': { key: 'durationS', min: 1, max: 60 },
  '--connections': { key: 'connections', min: 1, max: 1024 },
};

export function parseDataplaneArgs(args: readonly string[]): { kind: 'ok'; options: DataplaneOptions } | { kind: 'error'; errors: string[] } {
  const errors: string[] = [];
  const ints = { rounds: 3, durationS: 10, connections: 32 };
  let parts = new Set<Part>(['throughput', 'newconn', 'open-loop', 'resources']);
  let keepAttest = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const int = INTS[a];
    if (int) {
      const text = args[++i];
      const v = Number(text);
      if (text === undefined || !Number.isInteger(v) || v < int.min || v > int.max) errors.push(`${a}: "${text ?? ''}" is not valid; expected an integer ${int.min}-${int.max}`);
      else ints[int.key] = v;
    } else if (a === '--only') {
      const text = args[++i] ?? '';
      const names = text.split(',').filter(Boolean);
      const bad = names.filter((n) => !(PARTS as readonly string[]).includes(n));
      if (names.length === 0 || bad.length) errors.push(`--only: "${text}" is not valid; expected a comma-separated list of ${PARTS.join(', ')}`);
      else parts = new Set(names as Part[]);
    } else if (a === '--keep-attest') keepAttest = true;
    else errors.push(`${a}: unknown option; ${USAGE}`);
  }
  if (errors.length) return { kind: 'error', errors };
  return { kind: 'ok', options: { ...ints, parts, keepAttest } };
}
