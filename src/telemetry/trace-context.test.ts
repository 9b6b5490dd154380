// W3C traceparent as the specification reads it, and the child spans an agent makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childOf, formatTraceparent, newSpanId, newTraceId, parseTraceparent } from './trace-context.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

test('valid traceparents parse, with the sampled flag', () => {
  assert.deepEqual(parseTraceparent(`00-${T}-${P}-01`), { traceId: T, parentId: P, sampled: true });
  assert.deepEqual(parseTraceparent(`00-${T}-${P}-00`), { traceId: T, parentId: P, sampled: false });
  // Other flag bits do not change sampling; a later version may carry more fields.
  assert.equal(parseTraceparent(`00-${T}-${P}-03`)?.sampled, true);
  assert.equal(parseTraceparent(`01-${T}-${P}-01-extra`)?.traceId, T);
  assert.equal(parseTraceparent([`00-${T}-${P}-01`])?.traceId, T);
});

test('invalid traceparents are refused: the agent starts a new trace', () => {
  for (const bad of [
    undefined,
    '',
    `ff-${T}-${P}-01`,
    `00-${T}-${P}-01-extra`,
    `00-${'0'.repeat(32)}-${P}-01`,
    `00-${T}-${'0'.repeat(16)}-01`,
    `00-${T.toUpperCase()}-${P}-01`,
    `00-${T.slice(1)}-${P}-01`,
    `00-${T}-${P}-1`,
    'x'.repeat(600),
    42,
  ])
    assert.equal(parseTraceparent(bad), undefined, String(bad));
});

test('a child continues the trace with a new span; a root asks the sampler', () => {
  const c = childOf(parseTraceparent(`00-${T}-${P}-01`), () => assert.fail('a continued trace keeps its decision'));
  assert.equal(c.traceId, T);
  assert.equal(c.parentSpanId, P);
  assert.match(c.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(c.spanId, P);
  assert.equal(formatTraceparent(c), `00-${T}-${c.spanId}-01`);
  const root = childOf(undefined, () => false);
  assert.equal(root.parentSpanId, undefined);
  assert.equal(root.sampled, false);
  assert.match(formatTraceparent(root), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
});

test('IDs are random and never all zero', () => {
  const ids = new Set(Array.from({ length: 2000 }, () => newSpanId()));
  assert.equal(ids.size, 2000);
  assert.match(newTraceId(), /^(?!0{32})[0-9a-f]{32}$/);
});
