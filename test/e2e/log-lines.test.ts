import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repeatedKeys, topLevelKeys } from './log-lines.js';

test('topLevelKeys: nested objects, arrays and escaped quotes are not top-level keys', () => {
  assert.deepEqual(topLevelKeys('{"a":1,"b":{"c":2,"a":3},"d":["x","y"],"e":"q\\"z","f":{"g":[{"h":1}]}}'), ['a', 'b', 'd', 'e', 'f']);
});

test('repeatedKeys: finds a key logged twice at the top level only', () => {
  assert.deepEqual(repeatedKeys('{"region":"eu","part":"x","region":"us"}'), ['region']);
  assert.deepEqual(repeatedKeys('{"region":"eu","peer":{"region":"us"}}'), []);
});
