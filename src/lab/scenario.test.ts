// scenario: named drills and YAML timelines parse into one Scenario; a bad file names the key, the value and what was expected.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DRILLS, isStoreStep, namedDrill, parseScenario } from './scenario.js';
import { EntenteError } from '../core/errors.js';

describe('scenarios', () => {
  it('parses the example of docs/operations.md', () => {
    const s = parseScenario('name: us-outage\nsteps:\n  - at: 15s\n    kill: { region: us }\n  - at: 35s\n    restart: { region: us }\n', 'f.yaml');
    assert.deepEqual(s, { name: 'us-outage', warmupMs: 5000, durationMs: 50_000, steps: [{ at: 15_000, kill: { region: 'us' } }, { at: 35_000, restart: { region: 'us' } }] });
  });

  it('every named drill parses, fault at 15 s, heal at 35 s (promote: the promotion 3 s after the kill)', () => {
    for (const name of Object.keys(DRILLS)) {
      const s = namedDrill(name);
      assert.equal(s.steps[0]!.at, 15_000, name);
      assert.equal(s.steps[s.steps.length - 1]!.at, name === 'promote' ? 18_000 : 35_000, name);
    }
    assert.throws(() => namedDrill('nope'), /no drill named "nope"/);
  });

  it('parses the store steps, and tells them from the others', () => {
    const s = parseScenario(
      'name: store\nsteps:\n  - at: 15s\n    pauseReplay: { region: us }\n  - at: 20s\n    resumeReplay: { region: us }\n  - at: 25s\n    killPrimary: {}\n  - at: 28s\n    promote: { region: ap }\n',
      'f.yaml',
    );
    assert.deepEqual(s.steps, [
      { at: 15_000, pauseReplay: { region: 'us' } },
      { at: 20_000, resumeReplay: { region: 'us' } },
      { at: 25_000, killPrimary: {} },
      { at: 28_000, promote: { region: 'ap' } },
    ]);
    assert.deepEqual(s.steps.map(isStoreStep), [true, true, true, true]);
    assert.equal(isStoreStep({ at: 1, cut: { from: 'eu', to: 'us' } }), false);
    assert.deepEqual(namedDrill('replica-lag').steps.map((x) => Object.keys(x)[1]), ['pauseReplay', 'resumeReplay']);
    assert.deepEqual(namedDrill('promote').steps.map((x) => Object.keys(x)[1]), ['killPrimary', 'promote']);
  });

  const bad: [string, string, string[]][] = [
    ['pauseReplay without a region', 'name: x\nsteps:\n  - at: 15s\n    pauseReplay: {}\n  - at: 35s\n    resumeReplay: { region: us }\n', ['steps[0].pauseReplay', 'region']],
    ['promote with a bad region name', 'name: x\nsteps:\n  - at: 15s\n    killPrimary: {}\n  - at: 18s\n    promote: { region: US! }\n', ['steps[1].promote.region', 'US!', 'a region or component name']],
    ['killPrimary with a target', 'name: x\nsteps:\n  - at: 15s\n    killPrimary: { region: eu }\n  - at: 18s\n    promote: { region: us }\n', ['steps[0].killPrimary', 'region']],
    ['resumeReplay with a misspelt key', 'name: x\nsteps:\n  - at: 15s\n    pauseReplay: { region: us }\n  - at: 35s\n    resumeReplay: { regoin: us }\n', ['steps[1].resumeReplay', 'regoin']],
    ['two actions in one step', 'name: x\nsteps:\n  - at: 15s\n    killPrimary: {}\n    promote: { region: us }\n  - at: 35s\n    restore: true\n', ['exactly one action', 'killPrimary, promote']],
    ['a bad duration', 'name: x\nsteps:\n  - at: 15x\n    kill: { region: us }\n  - at: 35s\n    restart: { region: us }\n', ['steps[0].at', '15x', 'duration']],
    ['an unknown step kind', 'name: x\nsteps:\n  - at: 15s\n    explode: { region: us }\n  - at: 35s\n    restore: true\n', ['steps[0].explode', 'unknown key "explode"']],
    ['loss above 1', 'name: x\nsteps:\n  - at: 15s\n    degrade: { loss: 5 }\n  - at: 35s\n    restore: true\n', ['steps[0].degrade.loss', '5']],
    ['steps out of order', 'name: x\nsteps:\n  - at: 30s\n    cut: { from: eu, to: us }\n  - at: 20s\n    heal: { from: eu, to: us }\n', ['steps[1].at', 'no earlier']],
    ['one step', 'name: x\nsteps:\n  - at: 30s\n    cut: { from: eu, to: us }\n', ['steps', 'at least two']],
    ['a fault in the warm-up', 'name: x\nsteps:\n  - at: 2s\n    cut: { from: eu, to: us }\n  - at: 20s\n    heal: { from: eu, to: us }\n', ['warm-up']],
    ['a misspelt key', 'name: x\nstep: []\n', ['step', 'unknown key "step" (did you mean "steps"?)']],
  ];
  for (const [what, text, parts] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => parseScenario(text, 'f.yaml'),
        (err: unknown) => {
          assert.ok(err instanceof EntenteError);
          for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
          return true;
        },
      );
    });
  }
});
