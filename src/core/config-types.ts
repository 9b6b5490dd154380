// zod building blocks shared by every component's config schema, so that an
// address or a duration is parsed the same way (and fails the same way) everywhere.
import * as z from 'zod';
import { parseSocketAddress, type SocketAddress } from './address.js';
import { parseDuration } from './duration.js';

export const zAddress = z.string().transform((s, ctx): SocketAddress => {
  try {
    return parseSocketAddress(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'a host:port address such as "127.0.0.1:15008"' });
    return z.NEVER;
  }
});

export const zDurationMs = z.string().transform((s, ctx): number => {
  try {
    return parseDuration(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'a duration such as "500ms", "30s", "5m" or "1h"' });
    return z.NEVER;
  }
});

export const zDnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-", at most 63');

export const zTrustDomainName = z
  .string()
  .regex(/^[a-z0-9._-]{1,255}$/, 'a trust domain name: lower-case letters, digits, ".", "-" and "_"');

export const zHttpsUrl = z.string().regex(/^https:\/\/[^/\s]+(\/.*)?$/, 'an https:// URL');
