// Runs every attack of the adversarial review against a running lab (started
// with --workdir, ideally --no-traffic) and reports, per finding, what held.
// Destructive attempts (poisoning the registry) run last, and a control call
// at the end shows the region still serves.
import { readLabView, findWorkload, type LabView } from './lab-view.js';
import { attestationAttacks, headerAttacks, meshPortAttacks, pathAttacks } from './attacks-callers.js';
import { advertiseAttacks, enrollmentAttacks, policyAttacks } from './attacks-control.js';
import { limitAttacks } from './attacks-limits.js';
import { proxyRequest } from './attack-tools.js';
import { tryAttack, type AttackResult } from './attack-result.js';

export async function runAttacks(workdir: string, onResult: (r: AttackResult) => void = () => undefined): Promise<AttackResult[]> {
  const view: LabView = readLabView(workdir);
  const results: AttackResult[] = [];
  const groups = [attestationAttacks, pathAttacks, headerAttacks, meshPortAttacks, policyAttacks, enrollmentAttacks, limitAttacks, advertiseAttacks];
  for (const g of groups) {
    for (const r of await g(view)) {
      results.push(r);
      onResult(r);
    }
  }
  const frontend = findWorkload(view, 'frontend')!;
  const catalog = findWorkload(view, 'catalog')!;
  const after = await tryAttack('-', 'afterwards: frontend still reaches catalog across regions', async () => {
    const r = await proxyRequest(frontend.agent.httpProxy, frontend.address, 'GET', `http://${catalog.service}.shop.mesh/items`);
    return { held: r.status === 200, detail: `HTTP ${r.status} ${r.error ?? ''}` };
  });
  results.push(after);
  onResult(after);
  return results;
}

export function renderAttackResult(r: AttackResult): string {
  return `${r.held ? 'held  ' : 'BROKEN'}  [${r.finding}] ${r.attack}\n        ${r.detail}`;
}
