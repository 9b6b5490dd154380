// Selectors compiled on a node (names resolved, executables made real) and
// matched against attested facts: a table of cases, each with its exact reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { compileSelectors, describeCaller, matchSelectors, selectorsNeed, type AttestSelectors } from './attest-selectors.js';
import type { CallerFacts, ProcessFacts } from './attestor.js';
import type { NodeAccounts } from './node-accounts.js';

const accounts: NodeAccounts = {
  users: new Map([['root', 0], ['shop', 1001]]),
  groups: new Map([['shop', 1001]]),
  sources: { users: '/etc/passwd', groups: '/etc/group' },
};
const node: ProcessFacts = { pid: 1234, uid: 0, gid: 0, executable: '/usr/local/bin/node', cgroup: '/system.slice/shop-frontend.service', systemdUnit: 'shop-frontend.service' };
const curl: ProcessFacts = { pid: 1234, uid: 65534, gid: 65534, executable: '/usr/bin/curl', cgroup: '/user.slice/user-0.slice/session-1.scope', systemdUnit: 'session-1.scope' };
const facts = (p: ProcessFacts | undefined, socketUid = p?.uid ?? 0): CallerFacts => ({ socketUid, inode: 7, ...(p ? { process: p } : {}) });
const sel = (w: Parameters<typeof compileSelectors>[0]): AttestSelectors => compileSelectors(w, accounts);

test('compileSelectors resolves names on this node; unknown names never match', () => {
  assert.deepEqual(sel({ user: 'shop', group: 'shop' }), { uid: { id: 1001, text: '1001 (user shop)' }, gid: { id: 1001, text: '1001 (group shop)' } });
  assert.deepEqual(sel({ user: 'nosuch' }).uid, { id: undefined, text: 'user nosuch (not in /etc/passwd on this node)' });
  assert.deepEqual(sel({ cgroup: '/kubepods.slice/*' }).cgroup, { kind: 'prefix', value: '/kubepods.slice/', text: '/kubepods.slice/*' });
  // A declared executable is taken through its symlinks, as /proc/<pid>/exe is.
  const real = realpathSync(process.execPath);
  assert.equal(sel({ executable: real }).executable?.path, real);
  assert.equal(sel({ executable: '/nonexistent/bin/app' }).executable?.path, '/nonexistent/bin/app');
  assert.equal(selectorsNeed(sel({ uid: 0 })), 'socket');
  assert.equal(selectorsNeed(sel({ user: 'shop' })), 'socket');
  for (const w of [{ gid: 1 }, { executable: '/bin/x' }, { cgroup: '/a' }, { systemdUnit: 'a.service' }]) assert.equal(selectorsNeed(sel(w)), 'process', JSON.stringify(w));
});

test('matchSelectors: every declared selector must hold; the reason names each miss', () => {
  const cases: { name: string; sel: AttestSelectors; facts: CallerFacts; want: string }[] = [
    { name: 'uid only, socket owner matches', sel: sel({ uid: 0 }), facts: facts(undefined, 0), want: 'match' },
    { name: 'uid only, another user', sel: sel({ uid: 0 }), facts: facts(undefined, 65534), want: 'uid 65534 is not 0' },
    { name: 'user name', sel: sel({ user: 'shop' }), facts: facts(undefined, 65534), want: 'uid 65534 is not 1001 (user shop)' },
    { name: 'unknown user', sel: sel({ user: 'nosuch' }), facts: facts(undefined, 0), want: 'uid 0 cannot be checked: user nosuch (not in /etc/passwd on this node)' },
    { name: 'everything matches', sel: sel({ uid: 0, gid: 0, executable: '/nonexistent/node', cgroup: '/system.slice/*', systemdUnit: 'shop-frontend.service' }), facts: facts({ ...node, executable: '/nonexistent/node' }), want: 'match' },
    {
      name: 'curl as nobody',
      sel: sel({ uid: 0, executable: '/usr/local/bin/node' }),
      facts: facts(curl),
      want: 'uid 65534 is not 0; executable /usr/bin/curl is not /usr/local/bin/node',
    },
    { name: 'process changed user after creating the socket', sel: sel({ uid: 0, executable: '/usr/bin/curl' }), facts: facts(curl, 0), want: 'uid 65534 is not 0 (the socket was created by uid 0)' },
    { name: 'gid', sel: sel({ group: 'shop' }), facts: facts(curl), want: 'gid 65534 is not 1001 (group shop)' },
    { name: 'cgroup exact', sel: sel({ cgroup: '/system.slice/shop-frontend.service' }), facts: facts(curl), want: 'cgroup /user.slice/user-0.slice/session-1.scope is not /system.slice/shop-frontend.service' },
    { name: 'cgroup prefix', sel: sel({ cgroup: '/system.slice/*' }), facts: facts(node), want: 'match' },
    { name: 'cgroup prefix is not a substring match', sel: sel({ cgroup: '/system.slice/*' }), facts: facts({ ...node, cgroup: '/user.slice/system.slice/x' }), want: 'cgroup /user.slice/system.slice/x is not /system.slice/*' },
    { name: 'no cgroup v2', sel: sel({ cgroup: '/a' }), facts: facts({ ...node, cgroup: undefined, systemdUnit: undefined }), want: 'cgroup unknown (no cgroup v2 path in /proc/1234/cgroup) is not /a' },
    { name: 'systemd unit', sel: sel({ systemdUnit: 'shop-frontend.service' }), facts: facts(curl), want: 'systemd unit session-1.scope is not shop-frontend.service' },
    { name: 'deleted executable', sel: sel({ executable: '/usr/local/bin/node' }), facts: facts({ ...node, executable: undefined }), want: 'executable (unknown) is not /usr/local/bin/node' },
    { name: 'process selectors without a process lookup', sel: sel({ executable: '/usr/bin/curl' }), facts: facts(undefined), want: 'the process holding the socket was not looked up' },
  ];
  for (const c of cases) {
    const m = matchSelectors(c.sel, c.facts);
    assert.equal(m.kind === 'match' ? 'match' : m.reason, c.want, c.name);
  }
});

test('describeCaller names the process, or the socket owner when no process was needed', () => {
  assert.equal(describeCaller(facts(curl)), 'process 1234 (/usr/bin/curl, uid 65534)');
  assert.equal(describeCaller(facts(undefined, 65534)), 'socket owner (uid 65534)');
});
