// Parsers of /proc/<pid>/status and cgroup, systemd units, and /etc/passwd, on fixture text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupV2Path, parseStatusIds, systemdUnitOf } from './proc-process.js';
import { parseAccountFile } from './node-accounts.js';

test('status: the effective uid and gid', () => {
  const status = 'Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t1001\t1001\t1001\nGid:\t100\t101\t101\t101\nGroups:\t101 27\n';
  assert.deepEqual(parseStatusIds(status), { uid: 1001, gid: 101 });
  assert.equal(parseStatusIds('Name:\tx\nUid:\t0\t0\t0\t0\n'), undefined, 'no Gid line');
  assert.equal(parseStatusIds(''), undefined);
});

test('cgroup: the unified (v2) line only; systemd units from the path', () => {
  const cases: [string, string | undefined][] = [
    ['0::/system.slice/shop-frontend.service\n', '/system.slice/shop-frontend.service'],
    ['12:pids:/user.slice\n1:name=systemd:/user.slice/x.scope\n0::/user.slice/user-1000.slice/session-3.scope\n', '/user.slice/user-1000.slice/session-3.scope'],
    ['0::/\n', '/'],
    ['4:memory:/docker/abc\n1:cpu:/\n', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseCgroupV2Path(text), want, text);
  const units: [string, string | undefined][] = [
    ['/system.slice/shop-frontend.service', 'shop-frontend.service'],
    ['/user.slice/user-1000.slice/user@1000.service/app.slice/ledger.service', 'ledger.service'],
    ['/user.slice/user-1000.slice/user@1000.service/init.scope', 'init.scope'],
    ['/system.slice/docker-0123.scope/inner', 'docker-0123.scope'],
    ['/kubepods.slice/kubepods-pod1.slice', undefined],
    ['/', undefined],
  ];
  for (const [path, want] of units) assert.equal(systemdUnitOf(path), want, path);
});

test('passwd and group files: name -> id, first entry wins, junk skipped', () => {
  const m = parseAccountFile('root:x:0:0:root:/root:/bin/bash\n# comment\n\nshop:x:1001:1001::/home/shop:/bin/sh\nbroken line\nbad:x:notanumber:1\nshop:x:2002:2002::/:/bin/sh\nnogroup:x:65534:\n');
  assert.deepEqual([...m], [['root', 0], ['shop', 1001], ['nogroup', 65534]]);
});
