// The identity CLI as a real process: exit codes, the reason for each invalid
// input, human and --json output, stdin input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';
import { LocalCa } from '../../src/identity/local-ca.js';
import { generateKeyPair } from '../../src/identity/keys.js';
import { SpiffeId, parseTrustDomain } from '../../src/identity/spiffe-id.js';
import { bundleToJson } from '../../src/identity/trust-bundle.js';
import { craftLeaf, craftRoot, EKU } from './craft-cert.js';

const TD = parseTrustDomain('cli.test');
const ID = SpiffeId.forWorkload(TD, 'shop', 'web');
let dir: string;
let entry: string;
const f = (n: string) => join(dir, n);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-cli-'));
  // Prefer the real CLI once it carries the identity commands.
  const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const probe = spawnSync(process.execPath, [main, 'identity', '--help'], { encoding: 'utf8' });
  entry = probe.status === 0 && probe.stdout.includes('verify') ? main : fileURLToPath(new URL('./cli-entry.js', import.meta.url));
  const ca = await LocalCa.loadOrCreate(f('ca'), TD);
  const other = await LocalCa.loadOrCreate(f('other'), TD);
  const keys = await generateKeyPair();
  const svid = await ca.issue(ID, keys.publicKey);
  await writeFile(f('svid.pem'), svid.chainPem);
  await writeFile(f('bundle.json'), bundleToJson(ca.bundle(), 2));
  await writeFile(f('ca.pem'), ca.caCertPem);
  await writeFile(f('other.json'), bundleToJson(other.bundle()));
  await writeFile(f('revoked.json'), `{"keys":[],"spiffe_sequence":${ca.bundle().sequence! + 1n}}`);
  await writeFile(f('map.json'), `{"cli.test":${bundleToJson(ca.bundle())}}`);
  const root = await craftRoot('cli.test');
  await writeFile(f('root.pem'), root.pem);
  await writeFile(f('bad-eku.pem'), (await craftLeaf(ID.toString(), root, { eku: [EKU.serverAuth] })).pem);
});
after(() => rm(dir, { recursive: true, force: true }));

function cli(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, 'identity', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end(stdin ?? '');
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

test('parse: exit 0 when every ID is valid, else 1 with the reason for each invalid one', async () => {
  const ok = await cli(['parse', 'spiffe://a.test/x', 'spiffe://b.test']);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /valid +spiffe:\/\/a\.test\/x/);
  const bad = await cli(['parse', 'spiffe://a.test/x', 'SPIFFE://a.test/x', 'spiffe://a.test/x/']);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /invalid +"SPIFFE:\/\/a\.test\/x": .*lower case \[SCHEME_NOT_LOWERCASE\]/);
  assert.match(bad.out, /invalid +"spiffe:\/\/a\.test\/x\/": .*\[TRAILING_SLASH\]/);
  const json = await cli(['parse', '--json', 'spiffe://a.test:1/x']);
  assert.deepEqual(JSON.parse(json.out), { id: 'spiffe://a.test:1/x', valid: false, code: 'PORT', reason: 'a port (or the ":" delimiter) is not allowed' });
});

test('inspect: an SVID chain from a file or stdin, and a bundle, human and --json', async () => {
  const human = await cli(['inspect', f('svid.pem')]);
  assert.equal(human.code, 0, human.err);
  assert.match(human.out, new RegExp(`SPIFFE ID: +${ID.toString().replace(/\./g, '\\.')}`));
  assert.match(human.out, /X509-SVID: +conforms/);
  const viaStdin = await cli(['inspect', '--json', '-'], await readFile(f('svid.pem'), 'utf8'));
  const report = JSON.parse(viaStdin.out) as { kind: string; certificates: { uriSans: string[]; svidCheck: { ok: boolean } }[] };
  assert.equal(report.kind, 'chain');
  assert.deepEqual(report.certificates[0]?.uriSans, [ID.toString()]);
  const bundle = await cli(['inspect', '--trust-domain', 'cli.test', f('bundle.json')]);
  assert.match(bundle.out, /SPIFFE bundle of cli\.test/);
  assert.match(bundle.out, /spiffe_sequence: +\d+/);
  assert.match(bundle.out, /x509-svid authorities: 1/);
  const nonConforming = await cli(['inspect', f('bad-eku.pem')]);
  assert.equal(nonConforming.code, 1);
  assert.match(nonConforming.out, /DOES NOT CONFORM: BAD_EXTENDED_KEY_USAGE/);
  const missing = await cli(['inspect', f('nope.pem')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /READ_FAILED/);
});

test('verify: exit 0 when valid, 1 with the exact reason otherwise', async () => {
  const cases: [string[], number, RegExp][] = [
    [['--bundle', f('bundle.json'), f('svid.pem')], 0, new RegExp(`^valid: ${ID.toString().replace(/\./g, '\\.')}`)],
    [['--bundle', f('ca.pem'), '--trust-domain', 'cli.test', f('svid.pem')], 0, /^valid/],
    [['--bundle', f('map.json'), f('svid.pem')], 0, /^valid/],
    [['--bundle', f('other.json'), f('svid.pem')], 1, /^invalid: UNTRUSTED_CHAIN: chain does not lead to an authority of trust domain cli\.test/],
    [['--bundle', f('revoked.json'), f('svid.pem')], 1, /^invalid: TRUST_DOMAIN_REVOKED/],
    [['--bundle', f('bundle.json'), '--trust-domain', 'elsewhere.test', f('svid.pem')], 1, /^invalid: UNKNOWN_TRUST_DOMAIN/],
    [['--bundle', f('bundle.json'), '--at', '2100-01-01T00:00:00Z', f('svid.pem')], 1, /^invalid: EXPIRED: leaf expired/],
    [['--bundle', f('root.pem'), f('bad-eku.pem')], 1, /^invalid: BAD_EXTENDED_KEY_USAGE: leaf extended key usage lacks clientAuth/],
  ];
  for (const [args, code, want] of cases) {
    const r = await cli(['verify', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.out, want, args.join(' '));
  }
  const json = await cli(['verify', '--json', '--bundle', f('other.json'), f('svid.pem')]);
  assert.equal(JSON.parse(json.out).code, 'UNTRUSTED_CHAIN');
});
