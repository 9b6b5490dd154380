import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine } from './log-pretty.js';
import { resolveLogOptions } from './log.js';

test('formatLogLine: identity in the prefix, the rest as key=value, strings quoted only when needed', () => {
  const line = JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 1, 12, 3, 4, 512), component: 'controller', pid: 7, region: 'eu', part: 'peer-sync', peer: 'us', err: 'connect ECONNREFUSED 127.0.0.1:1', msg: 'peer region unreachable' });
  const out = formatLogLine(line, false);
  assert.match(out, /^\d\d:\d\d:\d\d\.512 WARN {2}controller eu peer-sync: peer region unreachable {2}peer=us err="connect ECONNREFUSED 127.0.0.1:1"$/);
  assert.doesNotMatch(out, /pid=|region=|component=/);
});

test('formatLogLine: colour only when asked; a line that is not JSON passes through', () => {
  const line = JSON.stringify({ level: 50, time: 0, component: 'agent', msg: 'x' });
  assert.ok(formatLogLine(line, true).includes('\u001b[31mERROR\u001b[0m'));
  assert.ok(!formatLogLine(line, false).includes('\u001b'));
  assert.equal(formatLogLine('not json', false), 'not json');
});

test('resolveLogOptions: flag over environment over default; a bad value names its source and the choices', () => {
  assert.deepEqual(resolveLogOptions({ level: 'debug', format: 'json' }, { ENTENTE_LOG_LEVEL: 'warn' }), { level: 'debug', format: 'json' });
  assert.equal(resolveLogOptions({}, { ENTENTE_LOG_LEVEL: 'warn', ENTENTE_LOG_FORMAT: 'pretty' }).level, 'warn');
  assert.equal(resolveLogOptions({}, { ENTENTE_LOG_FORMAT: 'pretty' }).format, 'pretty');
  assert.equal(resolveLogOptions({}, {}).level, 'info');
  assert.throws(() => resolveLogOptions({ level: 'verbose' }, {}), /--log-level "verbose" is not one of fatal, error, warn, info, debug, trace, silent/);
  assert.throws(() => resolveLogOptions({}, { ENTENTE_LOG_FORMAT: 'xml' }), /ENTENTE_LOG_FORMAT "xml" is not one of auto, json, pretty/);
});
