// `entente lab` options: checked before anything starts, each error naming the option, the value and what is expected.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabOptionError, parseLabCliOptions, type LabCliInput } from './lab-commands.js';

const defaults: LabCliInput = { regions: 'eu,us,ap', ipPrefix: '127.77', jitter: '2', rate: '20', svidTtl: '1h', attest: 'process' };

function refused(over: Partial<LabCliInput>, ...parts: string[]): void {
  assert.throws(
    () => parseLabCliOptions({ ...defaults, ...over }),
    (err: unknown) => {
      assert.ok(err instanceof LabOptionError, String(err));
      for (const p of parts) assert.ok(err.message.includes(p), `"${err.message}" lacks "${p}"`);
      return true;
    },
  );
}

describe('entente lab options', () => {
  it('parses the defaults', () => {
    const o = parseLabCliOptions(defaults);
    assert.deepEqual(o.regions, ['eu', 'us', 'ap']);
    assert.equal(o.rate, 20);
    assert.equal(o.jitterMs, 2);
    assert.equal(o.durationMs, undefined);
    assert.equal(o.svidTtl, '1h');
    assert.deepEqual(o.rttMs, { 'eu-us': 90, 'eu-ap': 160, 'us-ap': 220 });
  });

  it('refuses an SVID TTL the controllers would refuse, naming the minimum', () => {
    refused({ svidTtl: '1m' }, '--svid-ttl', '"1m"', 'at least 5m');
    refused({ svidTtl: '299s' }, '--svid-ttl', 'at least 5m');
    refused({ svidTtl: 'soon' }, '--svid-ttl', '"soon"');
    assert.equal(parseLabCliOptions({ ...defaults, svidTtl: '5m' }).svidTtl, '5m');
  });

  it('refuses bad numbers for --rate, --jitter and --duration', () => {
    for (const rate of ['0', '-1', 'fast', '', '1e9']) refused({ rate }, '--rate', `"${rate}"`);
    for (const jitter of ['-2', 'x']) refused({ jitter }, '--jitter', `"${jitter}"`);
    for (const duration of ['0', '20s', 'abc']) refused({ duration }, '--duration', `"${duration}"`);
    assert.equal(parseLabCliOptions({ ...defaults, duration: '2.5' }).durationMs, 2500);
  });

  it('parses --rtt pairs of known regions, hyphenated names included', () => {
    assert.equal(parseLabCliOptions({ ...defaults, rtt: 'eu-us=40' }).rttMs['eu-us'], 40);
    assert.equal(parseLabCliOptions({ ...defaults, regions: 'eu-west,us', rtt: 'eu-west-us=12.5' }).rttMs['eu-west-us'], 12.5);
    refused({ rtt: 'eu-us' }, '--rtt', '"eu-us"');
    refused({ rtt: 'eu-mars=40' }, '--rtt', '"eu-mars=40"', 'eu, us, ap');
    refused({ rtt: 'eu-us=fast' }, '--rtt', '"eu-us=fast"');
    refused({ rtt: 'eu-eu=4' }, '--rtt');
  });

  it('refuses bad regions, ip prefixes and attest modes', () => {
    refused({ regions: 'eu' }, '--regions', 'at least two');
    refused({ regions: 'eu,eu' }, '--regions');
    refused({ regions: 'EU,us' }, '--regions');
    refused({ ipPrefix: '10.0' }, '--ip-prefix', '127.N');
    refused({ attest: 'none' }, '--attest', '"none"');
  });
  it('--otlp takes an http(s) collector base URL', () => {
    assert.equal(parseLabCliOptions({ ...defaults, otlp: 'http://127.0.0.1:4318' }).otlp, 'http://127.0.0.1:4318');
    refused({ otlp: 'ftp://collector:4318' }, '--otlp', 'ftp://collector:4318', 'OTLP/HTTP collector base URL');
  });
});
