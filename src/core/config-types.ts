// zod building blocks shared by every component's config schema, so that an
// address or a duration is parsed the same way (and fails the same way)
// everywhere, and the checks across keys that every component needs.
import { isIP } from 'node:net';
import * as z from 'zod';
import { canonicalIp, parseSocketAddress, type SocketAddress } from './address.js';
import { parseDuration } from './duration.js';
import { formatKeyPath } from './config-problems.js';

// Each text is the whole "expected" of a message: it is used for a wrong type
// and a missing key as well as for a bad value.
const ADDRESS_TEXT = 'a host:port address such as "127.0.0.1:15008" or "[::1]:15008"';
const DURATION_TEXT = 'a duration such as "500ms", "30s", "5m" or "1h"';
const DNS_LABEL_TEXT = 'a DNS label: lower-case letters, digits and "-", at most 63';
const TRUST_DOMAIN_TEXT = 'a trust domain name: lower-case letters, digits, ".", "-" and "_"';
const HTTPS_URL_TEXT = 'an https:// URL';

export const zAddress = z.string({ error: ADDRESS_TEXT }).transform((s, ctx): SocketAddress => {
  try {
    return parseSocketAddress(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: ADDRESS_TEXT });
    return z.NEVER;
  }
});

export const zDurationMs = z.string({ error: DURATION_TEXT }).transform((s, ctx): number => {
  try {
    return parseDuration(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: DURATION_TEXT });
    return z.NEVER;
  }
});

export const zDnsLabel = z.string({ error: DNS_LABEL_TEXT }).regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, DNS_LABEL_TEXT);

export const zTrustDomainName = z.string({ error: TRUST_DOMAIN_TEXT }).regex(/^[a-z0-9._-]{1,255}$/, TRUST_DOMAIN_TEXT);

export const zHttpsUrl = z.string({ error: HTTPS_URL_TEXT }).regex(/^https:\/\/[^/\s]+(\/.*)?$/, HTTPS_URL_TEXT);

/**
 * A node's region controller: one URL, or the URLs of its replicas (the node
 * moves to the next one when one fails). Always a list once parsed.
 */
export const zControllerUrls = z
  .union([zHttpsUrl, z.array(zHttpsUrl).min(1, 'at least one controller URL').max(16, 'at most 16 controller URLs')], {
    error: `${HTTPS_URL_TEXT}, or a list of them (one per controller replica)`,
  })
  .transform((v) => (typeof v === 'string' ? [v] : v));

/**
 * Refinement options that run a cross-key check whenever the value is a
 * mapping, even when other keys are wrong (zod skips it otherwise): every
 * problem in one pass. The check must look at each key's type itself.
 */
export const WHEN_MAPPING = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null } as const;

/** joinToken and joinTokenFile both set: which one the node would use is a guess, so neither is. */
export function checkJoinToken(c: { joinToken?: unknown; joinTokenFile?: unknown }, ctx: z.RefinementCtx): void {
  if (c.joinToken !== undefined && c.joinTokenFile !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['joinTokenFile'], message: 'either joinToken or joinTokenFile, not both (joinToken is set too)' });
  }
}

/**
 * An agent's ways to enroll: a join token (joinToken or joinTokenFile) or a
 * Kubernetes service-account token (kubernetesTokenFile), never two; the
 * Kubernetes way needs controllerCaFile (a service-account token carries no
 * pin of the controller's CA), and controllerCaFile means nothing without it.
 * Whether one is needed at all depends on the dataDir (an enrolled node needs
 * none), so that is checked at start, not here.
 */
export function checkEnrollmentKeys(c: { joinToken?: unknown; joinTokenFile?: unknown; kubernetesTokenFile?: unknown; controllerCaFile?: unknown }, ctx: z.RefinementCtx): void {
  checkJoinToken(c, ctx);
  const join = c.joinToken !== undefined ? 'joinToken' : c.joinTokenFile !== undefined ? 'joinTokenFile' : undefined;
  if (c.kubernetesTokenFile !== undefined && join !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['kubernetesTokenFile'], message: `either a join token or kubernetesTokenFile, not both (${join} is set too)` });
  }
  if (c.kubernetesTokenFile !== undefined && c.controllerCaFile === undefined) {
    ctx.addIssue({ code: 'custom', path: ['controllerCaFile'], message: "the region CA's PEM file (the controller's <dataDir>/ca.pem) with kubernetesTokenFile: it authenticates the controller before the token is sent" });
  }
  if (c.controllerCaFile !== undefined && c.kubernetesTokenFile === undefined) {
    ctx.addIssue({ code: 'custom', path: ['controllerCaFile'], message: "no controllerCaFile without kubernetesTokenFile (a join token carries the pin of the controller's CA)" });
  }
}

export interface Listener {
  readonly path: readonly (string | number)[];
  /** undefined when absent (or already reported as malformed). */
  readonly address: unknown;
}

/**
 * Two listeners of one component on one address: the second bind would fail at
 * start-up (EADDRINUSE). Reported at the later key of `listeners`, naming the
 * earlier; list a key that may come from a default first, so that the key
 * reported is one the file has.
 */
export function checkListeners(listeners: readonly Listener[], ctx: z.RefinementCtx): void {
  const seen: { path: readonly (string | number)[]; address: SocketAddress }[] = [];
  for (const l of listeners) {
    if (!isSocketAddress(l.address)) continue;
    const clash = seen.find((s) => bindsClash(s.address, l.address as SocketAddress));
    if (clash) {
      ctx.addIssue({ code: 'custom', path: [...l.path], message: `an address no other listener of this component uses (${formatKeyPath(clash.path)} listens on ${showAddress(clash.address)})` });
    } else {
      seen.push({ path: l.path, address: l.address });
    }
  }
}

function isSocketAddress(a: unknown): a is SocketAddress {
  return typeof a === 'object' && a !== null && typeof (a as SocketAddress).host === 'string' && typeof (a as SocketAddress).port === 'number';
}

function showAddress(a: SocketAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Whether two binds on one host collide: the same port (0, "any free port",
 * never does) and the same address, or a wildcard covering the other (0.0.0.0
 * covers IPv4 addresses; :: covers every address, as Node binds it dual-stack).
 * Host names are compared as written: what they resolve to is not known here.
 */
export function bindsClash(a: SocketAddress, b: SocketAddress): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const ha = canonicalIp(a.host) ?? a.host.toLowerCase();
  const hb = canonicalIp(b.host) ?? b.host.toLowerCase();
  if (ha === hb || ha === '::' || hb === '::') return true;
  return (ha === '0.0.0.0' && isIP(hb) === 4) || (hb === '0.0.0.0' && isIP(ha) === 4);
}
