// canonicalIp and sameListener: one spelling per IP, and which addresses reach the same listener.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, sameListener } from './address.js';

describe('canonicalIp', () => {
  const cases: [string, string | undefined][] = [
    ['10.0.0.5', '10.0.0.5'],
    ['2001:DB8:0::5', '2001:db8::5'],
    ['::ffff:10.0.0.5', '10.0.0.5'],
    ['::ffff:a00:5', '10.0.0.5'],
    ['::1', '::1'],
    ['010.0.0.5', undefined],
    ['10.5', undefined],
    ['fe80::1%eth0', undefined],
    ['node.example', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => assert.equal(canonicalIp(text), want));
});

describe('sameListener', () => {
  const local = (ip: string): boolean => ip === '10.0.0.2';
  const cases: [string, [string, number], [string, number], boolean][] = [
    ['same address', ['10.0.0.1', 15012], ['10.0.0.1', 15012], true],
    ['other spelling', ['2001:db8::5', 1], ['2001:DB8:0::5', 1], true],
    ['other port', ['10.0.0.1', 15012], ['10.0.0.1', 15013], false],
    ['wildcard and a local address', ['0.0.0.0', 15013], ['10.0.0.2', 15013], true],
    ['wildcard and a remote address', ['::', 15013], ['10.0.0.9', 15013], false],
    ['names compare as given', ['ctl.example', 443], ['CTL.example', 443], true],
  ];
  for (const [what, [ah, ap], [bh, bp], want] of cases) it(what, () => assert.equal(sameListener({ host: ah, port: ap }, { host: bh, port: bp }, local), want));
});
