// User and group names of this node (/etc/passwd, /etc/group), resolved when
// the agent builds a snapshot: a Workload may name its user, and only the
// node it runs on knows which uid that is.
import { readFileSync } from 'node:fs';

export interface NodeAccounts {
  readonly users: ReadonlyMap<string, number>;
  readonly groups: ReadonlyMap<string, number>;
  /** Where the names came from, for messages ("/etc/passwd"). */
  readonly sources: { readonly users: string; readonly groups: string };
}

/** "name:x:id:..." lines (passwd and group share the first three fields). Comments, blanks and malformed lines are skipped; the first entry of a name wins, as getpwnam does. */
export function parseAccountFile(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id) || out.has(name)) continue;
    out.set(name, Number(id));
  }
  return out;
}

/** Reads both files; an unreadable file resolves no name (selectors naming one then never match). */
export function readNodeAccounts(paths = { users: '/etc/passwd', groups: '/etc/group' }): NodeAccounts {
  const read = (p: string): Map<string, number> => {
    try {
      return parseAccountFile(readFileSync(p, 'utf8'));
    } catch {
      return new Map();
    }
  };
  return { users: read(paths.users), groups: read(paths.groups), sources: paths };
}

export const NO_ACCOUNTS: NodeAccounts = { users: new Map(), groups: new Map(), sources: { users: '/etc/passwd', groups: '/etc/group' } };
