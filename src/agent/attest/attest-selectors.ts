// What a Workload says its process must be, compiled on the agent's node
// (user and group names resolved, the executable's real path taken), and the
// pure match of those selectors against what an Attestor found.
import { realpathSync } from 'node:fs';
import type { WireAttest } from '../../mesh/mesh-config.js';
import type { CallerFacts, FactNeed } from './attestor.js';
import type { NodeAccounts } from './node-accounts.js';

/** A uid or gid to match; `id` undefined when a name did not resolve on this node (then nothing matches). */
interface IdSelector {
  readonly id: number | undefined;
  /** How messages name the expectation: "0", "1001 (user shop)", "user shop (not in /etc/passwd on this node)". */
  readonly text: string;
}

export interface AttestSelectors {
  readonly uid?: IdSelector;
  readonly gid?: IdSelector;
  /** Real path on this node. */
  readonly executable?: { readonly path: string; readonly text: string };
  readonly cgroup?: { readonly kind: 'exact' | 'prefix'; readonly value: string; readonly text: string };
  readonly systemdUnit?: string;
}

export type SelectorMatch = { readonly kind: 'match' } | { readonly kind: 'mismatch'; readonly reason: string };

function idSelector(id: number | undefined, name: string | undefined, names: ReadonlyMap<string, number>, what: 'user' | 'group', source: string): IdSelector | undefined {
  if (id !== undefined) return { id, text: String(id) };
  if (name === undefined) return undefined;
  const resolved = names.get(name);
  return resolved === undefined ? { id: undefined, text: `${what} ${name} (not in ${source} on this node)` } : { id: resolved, text: `${resolved} (${what} ${name})` };
}

/** The declared executable through any symlinks on this node ("/usr/bin/node" -> "/usr/local/bin/node"); as written if it does not exist here. */
function realExecutable(path: string): { path: string; text: string } {
  try {
    const real = realpathSync(path);
    return { path: real, text: real === path ? path : `${real} (${path})` };
  } catch {
    return { path, text: path };
  }
}

export function compileSelectors(wire: WireAttest, accounts: NodeAccounts): AttestSelectors {
  const uid = idSelector(wire.uid, wire.user, accounts.users, 'user', accounts.sources.users);
  const gid = idSelector(wire.gid, wire.group, accounts.groups, 'group', accounts.sources.groups);
  const cg = wire.cgroup;
  return {
    ...(uid ? { uid } : {}),
    ...(gid ? { gid } : {}),
    ...(wire.executable !== undefined ? { executable: realExecutable(wire.executable) } : {}),
    ...(cg !== undefined ? { cgroup: cg.endsWith('*') ? { kind: 'prefix', value: cg.slice(0, -1), text: cg } : { kind: 'exact', value: cg, text: cg } } : {}),
    ...(wire.systemdUnit !== undefined ? { systemdUnit: wire.systemdUnit } : {}),
  };
}

/** The socket's owner is in /proc/net/tcp; anything else needs the process that holds the socket. */
export function selectorsNeed(s: AttestSelectors): FactNeed {
  return s.gid || s.executable || s.cgroup || s.systemdUnit ? 'process' : 'socket';
}

/** "process 1234 (/usr/bin/curl, uid 65534)", or the socket owner when no process was looked up. */
export function describeCaller(f: CallerFacts): string {
  const p = f.process;
  if (!p) return `socket owner (uid ${f.socketUid})`;
  return `process ${p.pid} (${p.executable ?? 'executable unknown'}, uid ${p.uid})`;
}

/**
 * Every declared selector must hold. The reason lists each one that does not,
 * in a fixed order (uid, gid, executable, cgroup, systemdUnit), with what was
 * found and what was expected.
 */
export function matchSelectors(s: AttestSelectors, f: CallerFacts): SelectorMatch {
  const misses: string[] = [];
  const p = f.process;
  if (s.uid) {
    // The socket's creator and, when looked up, the process holding it: both must be the declared user.
    if (s.uid.id === undefined) misses.push(`uid ${p?.uid ?? f.socketUid} cannot be checked: ${s.uid.text}`);
    else if (f.socketUid !== s.uid.id) misses.push(`uid ${f.socketUid} is not ${s.uid.text}`);
    else if (p && p.uid !== s.uid.id) misses.push(`uid ${p.uid} is not ${s.uid.text} (the socket was created by uid ${f.socketUid})`);
  }
  const needProcess = selectorsNeed(s) === 'process';
  if (needProcess && !p) return { kind: 'mismatch', reason: [...misses, 'the process holding the socket was not looked up'].join('; ') };
  if (p) {
    if (s.gid && (s.gid.id === undefined || p.gid !== s.gid.id)) misses.push(s.gid.id === undefined ? `gid ${p.gid} cannot be checked: ${s.gid.text}` : `gid ${p.gid} is not ${s.gid.text}`);
    if (s.executable && p.executable !== s.executable.path) misses.push(`executable ${p.executable ?? '(unknown)'} is not ${s.executable.text}`);
    if (s.cgroup) {
      const c = p.cgroup;
      const ok = c !== undefined && (s.cgroup.kind === 'exact' ? c === s.cgroup.value : c.startsWith(s.cgroup.value));
      if (!ok) misses.push(c === undefined ? `cgroup unknown (no cgroup v2 path in /proc/${p.pid}/cgroup) is not ${s.cgroup.text}` : `cgroup ${c} is not ${s.cgroup.text}`);
    }
    if (s.systemdUnit && p.systemdUnit !== s.systemdUnit) misses.push(`systemd unit ${p.systemdUnit ?? '(none)'} is not ${s.systemdUnit}`);
  }
  return misses.length === 0 ? { kind: 'match' } : { kind: 'mismatch', reason: misses.join('; ') };
}
