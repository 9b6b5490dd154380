// cli-options: defaults, every flag, and all errors of a bad command line at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDataplaneArgs } from './cli-options.js';

describe('parseDataplaneArgs', () => {
  it('defaults: 3 rounds of 10 s, 32 connections, every part but attest', () => {
    const r = parseDataplaneArgs([]);
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.deepEqual({ ...r.options, parts: [...r.options.parts] }, { rounds: 3, durationS: 10, connections: 32, parts: ['throughput', 'newconn', 'open-loop', 'resources'], keepAttest: false });
  });
  it('reads every flag', () => {
    const r = parseDataplaneArgs(['--rounds', '1', '--duration', '2', '--connections', '8', '--only', 'open-loop,resources', '--keep-attest']);
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.deepEqual({ ...r.options, parts: [...r.options.parts] }, { rounds: 1, durationS: 2, connections: 8, parts: ['open-loop', 'resources'], keepAttest: true });
  });
  const bad: [string, string[], RegExp][] = [
    ['zero rounds', ['--rounds', '0'], /--rounds: "0" is not valid; expected an integer 1-20/],
    ['a fraction', ['--duration', '2.5'], /--duration: "2.5"/],
    ['a missing value', ['--connections'], /--connections: ""/],
    ['an unknown part', ['--only', 'throughput,mesh2'], /--only: "throughput,mesh2" is not valid; expected a comma-separated list of throughput, newconn/],
    ['an unknown flag', ['--two-processes'], /--two-processes: unknown option/],
  ];
  for (const [what, args, want] of bad) {
    it(`refuses ${what}`, () => {
      const r = parseDataplaneArgs(args);
      assert.equal(r.kind, 'error');
      assert.match(r.kind === 'error' ? r.errors.join('\n') : '', want);
    });
  }
  it('reports every error of one command line', () => {
    const r = parseDataplaneArgs(['--rounds', 'x', '--only', '', '--bogus']);
    assert.equal(r.kind === 'error' && r.errors.length, 3);
  });
});
