// wrk: its --latency report parsed into numbers, errors summed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrkOutput } from './wrk.js';

const report = `Running 2s test @ http://127.66.1.101:8080/
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   410.12us  300.00us   9.81ms   90.00%
    Req/Sec    38.01k     2.10k   41.00k    70.00%
  Latency Distribution
     50%  351.00us
     75%  452.00us
     90%  612.00us
     99%    1.62ms
  151234 requests in 2.00s, 23.40MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  75617.00
Transfer/sec:     11.70MB
`;

describe('parseWrkOutput', () => {
  it('reads rate, request count, percentiles and errors', () => {
    const r = parseWrkOutput(report);
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.deepEqual(r.result, { rps: 75617, requests: 151234, p50Ms: 0.351, p90Ms: 0.612, p99Ms: 1.62, errors: 10 });
  });
  it('refuses output without a rate (wrk failed to start)', () => {
    const r = parseWrkOutput('unable to connect to 127.66.1.101:8080 Connection refused\n');
    assert.equal(r.kind, 'error');
  });
  it('reads seconds as milliseconds', () => {
    const r = parseWrkOutput(report.replace('1.62ms', '1.50s'));
    assert.equal(r.kind === 'ok' && r.result.p99Ms, 1500);
  });
});
