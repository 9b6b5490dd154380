// `entente identity parse|inspect|verify`: operator tools over the same code
// the mesh uses, so what the CLI says about an ID or a certificate is what a
// controller or agent would decide. Results set process.exitCode (0 ok, 1 not).
import { outputFormatOf, structured } from '../cli/output.js';
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import { describeError, EntenteError } from '../core/errors.js';
import { SpiffeId, parseTrustDomain, type TrustDomain } from './spiffe-id.js';
import { inspectText, renderInspect } from './identity-inspect.js';
import { isJsonObject, parseStrictJson, stringifyJson } from './strict-json.js';
import { bundleFromPem, parseBundleDocument, parseBundleMapJson, type TrustBundle } from './trust-bundle.js';
import { BundleStore } from './bundle-store.js';
import { verifyX509SvidChain } from './verify-svid.js';
import { splitPemCertificates } from './pem.js';

async function readInput(path: string): Promise<string> {
  if (path !== '-') {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new EntenteError('READ_FAILED', `cannot read ${path}`, { cause: err, hint: 'check the path' });
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs a command body; an error prints one line and sets exit code 1. */
function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      process.stderr.write(`entente identity: ${describeError(err)}\n`);
      // A usage error (a bad option value) exits 2, as everywhere in entente.
      process.exitCode = err instanceof EntenteError && err.code.startsWith('CLI_') ? 2 : 1;
    }
  };
}

/** Bundles from a file: a SPIFFE bundle, a bundle map, or PEM CA certificates. */
function bundlesFromText(text: string, trustDomain: TrustDomain | undefined, leafTd: TrustDomain | undefined): TrustBundle[] {
  const td = trustDomain ?? leafTd;
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    if (!td) throw new EntenteError('NO_TRUST_DOMAIN', 'PEM bundle needs a trust domain', { hint: 'pass --trust-domain' });
    return [bundleFromPem(text, td)];
  }
  const doc = parseStrictJson(text);
  if (isJsonObject(doc) && !('keys' in doc)) return [...parseBundleMapJson(text).values()];
  if (!td) throw new EntenteError('NO_TRUST_DOMAIN', 'a SPIFFE bundle does not name its trust domain', { hint: 'pass --trust-domain' });
  return [parseBundleDocument(doc, td).bundle];
}

export function registerIdentityCommands(program: Command): void {
  const identity = program.command('identity').description('SPIFFE identity tools: check IDs, inspect SVIDs and bundles, verify SVID chains');

  identity
    .command('parse')
    .description('check SPIFFE IDs against the SPIFFE-ID standard (exit 1 if any is invalid)')
    .argument('<ids...>', 'SPIFFE IDs, e.g. spiffe://eu.example.org/ns/shop/sa/web')
    .option('-o, --output <format>', 'text, json (one object per line) or yaml', 'text')
    .option('--json', 'the same as -o json')
    .action(
      guarded((ids: string[], opts: { json?: boolean; output?: string }) => {
        const format = outputFormatOf(opts);
        let bad = 0;
        const reports: unknown[] = [];
        for (const text of ids) {
          const r = SpiffeId.check(text);
          if (!r.ok) bad++;
          const line = r.ok ? { id: text, valid: true, trustDomain: r.value.trustDomain, path: r.value.path } : { id: text, valid: false, code: r.code, reason: r.reason };
          if (format === 'json') {
            process.stdout.write(`${JSON.stringify(line)}\n`);
          } else if (format === 'yaml') {
            reports.push(line);
          } else if (r.ok) {
            process.stdout.write(`valid    ${text}  (trust domain ${r.value.trustDomain}, path ${r.value.path || '(none)'})\n`);
          } else {
            process.stdout.write(`invalid  ${JSON.stringify(text)}: ${r.reason} [${r.code}]\n`);
          }
        }
        if (format === 'yaml') process.stdout.write(structured('yaml', reports)!);
        process.exitCode = bad === 0 ? 0 : 1;
      }),
    );

  identity
    .command('inspect')
    .description('show an SVID PEM chain or a SPIFFE bundle (JSON), "-" reads stdin')
    .argument('<file>', 'PEM chain, SPIFFE bundle, or bundle map; "-" for stdin')
    .option('--trust-domain <td>', 'trust domain of a single bundle (bundles do not name it)')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .option('--json', 'the same as -o json')
    .action(
      guarded(async (file: string, opts: { json?: boolean; output?: string; trustDomain?: string }) => {
        const format = outputFormatOf(opts);
        const td = opts.trustDomain === undefined ? undefined : parseTrustDomain(opts.trustDomain);
        const report = inspectText(await readInput(file), td);
        const json = stringifyJson(report, 2);
        process.stdout.write(format === 'json' ? `${json}\n` : format === 'yaml' ? structured('yaml', JSON.parse(json))! : renderInspect(report));
        const nonConforming = report.kind === 'chain' && report.certificates.some((c) => !c.svidCheck.ok);
        process.exitCode = nonConforming ? 1 : 0;
      }),
    );

  identity
    .command('verify')
    .description('verify an X.509-SVID chain (leaf first) against a bundle; exit 0 when valid, 1 with the reason otherwise')
    .requiredOption('--bundle <file>', 'SPIFFE bundle JSON, bundle map JSON, or PEM CA certificates')
    .option('--trust-domain <td>', "trust domain the bundle belongs to (default: the leaf's own)")
    .option('--at <time>', 'verify at this ISO 8601 time instead of now')
    .option('-o, --output <format>', 'text, json or yaml', 'text')
    .option('--json', 'the same as -o json')
    .argument('<cert>', 'PEM chain, leaf first; "-" for stdin')
    .action(
      guarded(async (cert: string, opts: { bundle: string; trustDomain?: string; at?: string; json?: boolean; output?: string }) => {
        const format = outputFormatOf(opts);
        const nowMs = opts.at === undefined ? Date.now() : Date.parse(opts.at);
        if (Number.isNaN(nowMs)) throw new EntenteError('BAD_TIME', `--at ${opts.at} is not a time`, { hint: 'e.g. 2030-01-01T00:00:00Z' });
        const chainPem = await readInput(cert);
        const chain = splitPemCertificates(chainPem).map((p) => new X509Certificate(p));
        // The leaf's claimed trust domain only picks which bundle applies; the chain must still lead to it.
        const leafUri = chain[0]?.subjectAltName?.match(/URI:(spiffe:\/\/[^,\s]+)/)?.[1];
        const leafTd = leafUri ? SpiffeId.check(leafUri) : undefined;
        const td = opts.trustDomain === undefined ? undefined : parseTrustDomain(opts.trustDomain);
        const store = new BundleStore(bundlesFromText(await readInput(opts.bundle), td, leafTd?.ok ? leafTd.value.trustDomain : undefined));
        const v = verifyX509SvidChain(chain, store, nowMs);
        if (format !== 'text') {
          const result = v.kind === 'valid' ? { valid: true, spiffeId: v.spiffeId.toString(), notAfter: v.notAfter.toISOString() } : { valid: false, code: v.code, reason: v.reason };
          process.stdout.write(format === 'json' ? `${stringifyJson(result)}\n` : structured('yaml', result)!);
        } else if (v.kind === 'valid') {
          process.stdout.write(`valid: ${v.spiffeId} (leaf expires ${v.notAfter.toISOString()})\n`);
        } else {
          process.stdout.write(`invalid: ${v.code}: ${v.reason}\n`);
        }
        process.exitCode = v.kind === 'valid' ? 0 : 1;
      }),
    );
}
