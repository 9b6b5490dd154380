// One attack's outcome: which finding of the review it tries, what it did, and
// whether the mesh held. `held: false` is a live hole.
export interface AttackResult {
  /** The review finding it exercises, e.g. "1 attestation". */
  readonly finding: string;
  readonly attack: string;
  readonly held: boolean;
  /** What was observed (status, reason), so a reader can judge without rerunning. */
  readonly detail: string;
}

export type Attack = () => Promise<AttackResult | AttackResult[]>;

/** Runs an attack; an attack that crashes has not shown the mesh held. */
export async function tryAttack(finding: string, attack: string, fn: () => Promise<{ held: boolean; detail: string }>): Promise<AttackResult> {
  try {
    const r = await fn();
    return { finding, attack, ...r };
  } catch (err) {
    return { finding, attack, held: false, detail: `the attack itself failed: ${(err as Error).message}` };
  }
}
