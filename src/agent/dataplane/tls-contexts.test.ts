import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handshakeFailureReason } from './tls-contexts.js';

test('handshake failures are labelled by their code, never by their message (table)', () => {
  const err = (code: string | undefined, message = 'whatever'): Error => Object.assign(new Error(message), code ? { code } : {});
  const cases: [Error | undefined, string][] = [
    [err('ENTENTE_UNKNOWN_SNI'), 'unknown_server_name'],
    [err('ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE'), 'no_client_certificate'],
    [err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), 'untrusted_certificate'],
    [err('CERT_HAS_EXPIRED'), 'untrusted_certificate'],
    [err('ERR_SSL_WRONG_VERSION_NUMBER'), 'not_tls'],
    [err('ERR_SSL_HTTP_REQUEST'), 'not_tls'],
    [err('ERR_SSL_UNSUPPORTED_PROTOCOL'), 'protocol'],
    [err('ECONNRESET'), 'reset'],
    [err('ERR_TLS_HANDSHAKE_TIMEOUT'), 'timeout'],
    // A message that merely mentions a certificate does not make it a certificate failure.
    [err(undefined, 'certificate verify failed somewhere'), 'other'],
    [err('SOMETHING_NEW'), 'other'],
    [undefined, 'other'],
  ];
  for (const [e, want] of cases) assert.equal(handshakeFailureReason(e), want, String(e && (e as { code?: string }).code));
});
