// entente validate's per-file checks: each kind told from its content (and
// from the file name only when the content cannot tell), then checked with
// the schema its component uses, every problem located.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { recogniseKind } from './config-kinds.js';
import { formatReports, validateText } from './validate-files.js';

const REGION = 'region: eu\ntrustDomain: eu.example.org\ndataDir: /d\nresources: /r\nlisten: { agents: "127.0.0.1:1", peers: "127.0.0.1:2" }\n';
const AGENT = 'node: n1\ncontroller: https://127.0.0.1:1\ndataDir: /d\nlisten: { inbound: "127.0.0.1:3" }\n';
const GATEWAY = 'name: gw\ncontroller: https://127.0.0.1:1\ndataDir: /d\nlisten: "127.0.0.1:4"\n';
const ANYCAST = 'localAs: 65001\nrouterId: 192.0.2.2\npeers: [{ address: 192.0.2.1, remoteAs: 65000 }]\nannounce: [{ prefix: 203.0.113.10/32 }]\n';
const SERVICE = 'apiVersion: entente.dev/v1alpha1\nkind: Service\nmetadata: { name: cart }\nspec: { ports: [{ port: 80 }] }\n';
const CASES = '- { from: "spiffe://eu.lab/ns/web/sa/x", to: cart, expect: allow }\n';

describe('recogniseKind', () => {
  it('tells each kind by its content, whatever the file is called', () => {
    const table: [string, string][] = [[REGION, 'region'], [AGENT, 'agent'], [GATEWAY, 'gateway'], [ANYCAST, 'anycast'], [SERVICE, 'resources'], [`# a comment\n---\n${SERVICE}`, 'resources'], [CASES, 'cases']];
    for (const [text, kind] of table) assert.equal(recogniseKind(text, 'x.yaml'), kind, text);
  });

  it('a file with typos still goes by most of its keys; a file that says nothing goes by its name', () => {
    assert.equal(recogniseKind(AGENT.replace('node:', 'nod:'), 'x.yaml'), 'agent');
    assert.equal(recogniseKind('{}\n', 'edge/gateway.yaml'), 'gateway');
    assert.equal(recogniseKind('listen: [1, 2\n', 'region.yaml'), 'region');
    assert.equal(recogniseKind('hello: world\n', 'x.yaml'), undefined);
  });
});

describe('validateText', () => {
  it('a valid file of each kind is ok', () => {
    for (const text of [REGION, AGENT, GATEWAY, ANYCAST, SERVICE, CASES]) assert.deepEqual(validateText('f.yaml', text).problems, [], text);
  });

  it('reports every problem with line, key, value and expected', () => {
    const r = validateText('agent.yaml', `${AGENT}limits: { maxStreamsPerSession: 0 }\n`);
    assert.equal(r.kind, 'agent');
    assert.deepEqual(r.problems, [{ line: 5, key: 'limits.maxStreamsPerSession', value: '0', expected: 'a number ≥ 1', message: 'agent.yaml:5: limits.maxStreamsPerSession: got 0; expected a number ≥ 1' }]);
    const res = validateText('svc.yaml', SERVICE.replace('port: 80', 'port: 0'));
    assert.deepEqual(res.problems.map((p) => [p.line, p.key, p.value]), [[4, 'spec.ports[0].port', '0']]);
  });

  it('an unknown kind is a problem; so is a syntax error in it', () => {
    assert.match(validateText('x.yaml', 'hello: world\n').problems[0]!.message, /^x\.yaml: cannot tell which file this is/);
    assert.match(validateText('x.yaml', 'a: [1\n').problems[0]!.message, /^x\.yaml:2:1: not valid YAML/);
  });

  it('formats one line per file and every problem under its file', () => {
    const text = formatReports([validateText('region.yaml', REGION), validateText('agent.yaml', AGENT.replace('listen:', 'listn:'))]);
    assert.equal(text, [
      'ok    region.yaml (controller region.yaml)',
      'FAIL  agent.yaml (agent.yaml): 2 problems',
      '  agent.yaml: listen: required; expected a mapping',
      '  agent.yaml:4: listn: unknown key "listn" (did you mean "listen"?)',
      '2 files: 1 valid, 1 with problems',
      '',
    ].join('\n'));
  });
});
