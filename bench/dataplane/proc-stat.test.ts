// proc-stat: parsing /proc/<pid>/stat and status, and reading this very process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clockTicksPerSecond, cpusBetween, parseStatCpuTicks, parseStatusRssBytes, sampleProcess } from './proc-stat.js';

describe('parseStatCpuTicks', () => {
  const tail = 'S 1 2 3 4 5 6 7 8 9 10 250 17 0 0 20 0 1 0 100 200 300';
  const cases: [string, string, number | undefined][] = [
    ['plain name', `1234 (node) ${tail}`, 267],
    ['name with spaces and parentheses', `1234 (a (b) c) ${tail}`, 267],
    ['truncated', '1234 (node) S 1 2', undefined],
    ['no name', 'garbage', undefined],
  ];
  for (const [what, line, want] of cases) it(what, () => assert.equal(parseStatCpuTicks(line), want));
});

describe('parseStatusRssBytes', () => {
  it('reads VmRSS in kB', () => assert.equal(parseStatusRssBytes('Name:\tnode\nVmRSS:\t   51200 kB\nThreads: 7\n'), 51200 * 1024));
  it('is undefined without VmRSS (a zombie)', () => assert.equal(parseStatusRssBytes('Name:\tnode\nState:\tZ\n'), undefined));
});

describe('sampleProcess', () => {
  it('counts the CPU time this process reports for itself', { skip: process.platform !== 'linux' }, () => {
    const a = sampleProcess(process.pid)!;
    const before = process.cpuUsage();
    // Spin until 200 ms of CPU time were used (not wall time: the machine may be busy).
    let x = 0;
    while (process.cpuUsage(before).user < 200_000) x += Math.sqrt(x + 1);
    const used = process.cpuUsage(before);
    const b = sampleProcess(process.pid)!;
    assert.ok(x > 0);
    assert.ok(a.rssBytes > 0);
    const procSeconds = (b.cpuTicks - a.cpuTicks) / clockTicksPerSecond();
    const ownSeconds = (used.user + used.system) / 1e6;
    // Ticks are 10 ms; other threads of this process (GC) may add a little.
    assert.ok(Math.abs(procSeconds - ownSeconds) < 0.05, `/proc says ${procSeconds}s, process.cpuUsage ${ownSeconds}s`);
    assert.ok(cpusBetween(a, b) > 0);
  });
  it('is undefined for a pid that does not exist', () => assert.equal(sampleProcess(2 ** 22 + 17), undefined));
});
