import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GrpcCode, encodeGrpcMessage, grpcCodeForAgentStatus, grpcStatusOf, grpcTrailersOnly, isGrpcContentType, parseGrpcTimeout } from './grpc-status.js';

test('agent outcomes map to gRPC codes (table)', () => {
  const table: [number, GrpcCode, string][] = [
    [403, GrpcCode.PERMISSION_DENIED, 'denied by policy'],
    [400, GrpcCode.INTERNAL, 'request target refused by the normalizer'],
    [404, GrpcCode.UNIMPLEMENTED, 'no such route'],
    [405, GrpcCode.UNIMPLEMENTED, 'method not served'],
    [500, GrpcCode.INTERNAL, 'authorizer threw'],
    [502, GrpcCode.UNAVAILABLE, 'app refused or failed'],
    [503, GrpcCode.UNAVAILABLE, 'workload connection limit'],
    [504, GrpcCode.DEADLINE_EXCEEDED, 'app did not accept in time'],
    [418, GrpcCode.UNKNOWN, 'anything else'],
  ];
  for (const [status, code, why] of table) assert.equal(grpcCodeForAgentStatus(status), code, `${status}: ${why}`);
});

test('grpc-message is percent-encoded as the gRPC spec says (table)', () => {
  const table: [string, string][] = [
    ['plain words', 'plain words'],
    ['100% sure', '100%25 sure'],
    ['line\nbreak', 'line%0Abreak'],
    ['café', 'caf%C3%A9'],
    ['tab\there', 'tab%09here'],
    ['~ and space', '~ and space'],
    ['del\x7f', 'del%7F'],
  ];
  for (const [input, want] of table) assert.equal(encodeGrpcMessage(input), want, JSON.stringify(input));
});

test('encoded messages decode back and hold only printable ASCII (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      const e = encodeGrpcMessage(s);
      assert.match(e, /^[\x20-\x7e]*$/);
      assert.equal(decodeURIComponent(e), s);
    }),
    { interruptAfterTimeLimit: 2000, numRuns: 300 },
  );
});

test('gRPC content types are recognised; others are not (table)', () => {
  const table: [unknown, boolean][] = [
    ['application/grpc', true],
    ['application/grpc+proto', true],
    ['application/grpc-web+proto', true],
    ['Application/GRPC', true],
    ['application/json', false],
    [undefined, false],
    [['application/grpc'], false],
  ];
  for (const [ct, want] of table) assert.equal(isGrpcContentType(ct), want, String(ct));
});

test('a trailers-only refusal is HTTP 200 with the status and the reason', () => {
  const h = grpcTrailersOnly(GrpcCode.PERMISSION_DENIED, 'no ALLOW rule matches 100%', 'application/grpc+proto');
  assert.deepEqual(h, { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '7', 'grpc-message': 'no ALLOW rule matches 100%25' });
  assert.equal(grpcTrailersOnly(GrpcCode.UNAVAILABLE, 'x', undefined)['content-type'], 'application/grpc');
});

test('grpc-status is read from trailers, malformed values are ignored (table)', () => {
  const table: [Record<string, unknown> | undefined, number | undefined][] = [
    [{ 'grpc-status': '0' }, 0],
    [{ 'grpc-status': '14' }, 14],
    [{ 'grpc-status': 'x' }, undefined],
    [{ 'grpc-status': '123' }, undefined],
    [{}, undefined],
    [undefined, undefined],
  ];
  for (const [h, want] of table) assert.equal(grpcStatusOf(h), want, JSON.stringify(h));
});

test('grpc-timeout deadlines in milliseconds, malformed ones ignored (table)', () => {
  const cases: [unknown, number | undefined][] = [
    ['1S', 1000],
    ['250m', 250],
    ['2M', 120_000],
    ['1H', 3_600_000],
    ['1500u', 2],
    ['1n', 1],
    ['0m', 1],
    ['123456789m', undefined],
    ['10', undefined],
    ['10s', undefined],
    ['-1S', undefined],
    [undefined, undefined],
    [['1S'], undefined],
  ];
  for (const [v, want] of cases) assert.equal(parseGrpcTimeout(v), want, String(v));
});
