// One-time join tokens, bound to a node name, short-lived, stored only as
// hashes (a stolen tokens.json enrolls nobody), and carrying the controller
// CA's public-key pin so a new agent can authenticate its controller before
// it trusts anything (as kubeadm's discovery hash does).
//
// Wire form: "ej1.<id>.<secret>.<pin>", all base64url; pin = SHA-256 of the
// CA certificate's SubjectPublicKeyInfo.
import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { EntenteError } from '../core/errors.js';

export type NodeKind = 'agent' | 'gateway';

/** A token as stored: the secret only as its hash. */
export interface StoredToken {
  id: string;
  secretSha256: string;
  node: string;
  kind: NodeKind;
  /** Addresses (canonical IPs) the node may advertise; absent: its connection's source address. */
  addresses?: string[];
  expiresAt: number;
  usedAt?: number;
}

export interface ParsedJoinToken {
  readonly id: string;
  readonly secret: string;
  /** base64url SHA-256 of the controller CA's SubjectPublicKeyInfo. */
  readonly caPin: string;
}

export type RedeemResult =
  | { kind: 'ok'; node: string; nodeKind: NodeKind; addresses: readonly string[] }
  | { kind: 'refused'; code: 'TOKEN_UNKNOWN' | 'TOKEN_EXPIRED' | 'TOKEN_REPLAYED' | 'TOKEN_NODE_MISMATCH' | 'TOKEN_KIND_MISMATCH'; reason: string };

const article = (k: NodeKind): string => (k === 'agent' ? 'an agent' : 'a gateway');
const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('base64url');

/** The pin of a CA certificate: SHA-256 over its public key (SPKI DER). */
export function caPin(caCertPem: string): string {
  const spki = new X509Certificate(caCertPem).publicKey.export({ type: 'spki', format: 'der' });
  return sha256(spki);
}

export function parseJoinToken(text: string): ParsedJoinToken {
  const m = /^ej1\.([A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]{32,})\.([A-Za-z0-9_-]{43})$/.exec(text.trim());
  if (!m) {
    throw new EntenteError('BAD_JOIN_TOKEN', 'join token is malformed', {
      hint: 'expected "ej1.<id>.<secret>.<pin>" as printed by `entente token create`',
    });
  }
  return { id: m[1]!, secret: m[2]!, caPin: m[3]! };
}

/** Where join tokens live: a file for a single controller, etcd for replicas (shared, redeemed once across all). */
export interface JoinTokens {
  create(node: string, kind: NodeKind, ttlMs: number, caCertPem: string, addresses?: readonly string[]): { token: string; expiresAt: Date } | Promise<{ token: string; expiresAt: Date }>;
  redeem(tokenText: string, node: string, kind: NodeKind): RedeemResult | Promise<RedeemResult>;
}

/** A new token: what is stored (the secret hashed) and what the operator is given. */
export function mintToken(node: string, kind: NodeKind, expiresAt: number, caCertPem: string, addresses: readonly string[]): { stored: StoredToken; token: string } {
  const id = randomBytes(8).toString('base64url');
  const secret = randomBytes(24).toString('base64url');
  return {
    stored: { id, secretSha256: sha256(secret), node, kind, ...(addresses.length > 0 ? { addresses: [...addresses] } : {}), expiresAt },
    token: `ej1.${id}.${secret}.${caPin(caCertPem)}`,
  };
}

/** The token's id, or undefined when it is malformed (refused as unknown: no hint about the format to a guesser). */
export function tokenId(tokenText: string): string | undefined {
  try {
    return parseJoinToken(tokenText).id;
  } catch {
    return undefined;
  }
}

/**
 * Pure: may `tokenText` enroll `node` as `kind`, given the stored token of its
 * id? 'consume' means yes, and the token must be marked used; a kind mismatch
 * does not consume it (the operator may have started the right component with
 * the wrong config).
 */
export function judgeRedemption(t: StoredToken | undefined, tokenText: string, node: string, kind: NodeKind, now: number): { kind: 'consume'; result: RedeemResult } | RedeemResult {
  let parsed: ParsedJoinToken;
  try {
    parsed = parseJoinToken(tokenText);
  } catch {
    return { kind: 'refused', code: 'TOKEN_UNKNOWN', reason: 'join token is malformed' };
  }
  const given = Buffer.from(sha256(parsed.secret));
  if (!t || t.id !== parsed.id || !timingSafeEqual(given, Buffer.from(t.secretSha256))) {
    return { kind: 'refused', code: 'TOKEN_UNKNOWN', reason: 'join token is not known to this controller' };
  }
  if (t.usedAt !== undefined) {
    return { kind: 'refused', code: 'TOKEN_REPLAYED', reason: `join token was already used at ${new Date(t.usedAt).toISOString()}` };
  }
  if (now > t.expiresAt) {
    return { kind: 'refused', code: 'TOKEN_EXPIRED', reason: `join token expired at ${new Date(t.expiresAt).toISOString()}` };
  }
  if (t.node !== node) {
    return { kind: 'refused', code: 'TOKEN_NODE_MISMATCH', reason: `join token is for node "${t.node}", not "${node}"` };
  }
  if (t.kind !== kind) {
    return { kind: 'refused', code: 'TOKEN_KIND_MISMATCH', reason: `join token was made for ${article(t.kind)}, not ${article(kind)} (node "${node}")` };
  }
  return { kind: 'consume', result: { kind: 'ok', node: t.node, nodeKind: t.kind, addresses: t.addresses ?? [] } };
}

/** Used and expired tokens are kept this long past expiry, to report replays clearly; then forgotten. */
export const TOKEN_RETENTION_MS = 86_400_000;

export class JoinTokenStore implements JoinTokens {
  private tokens = new Map<string, StoredToken>();

  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    if (existsSync(path)) {
      const list = JSON.parse(readFileSync(path, 'utf8')) as StoredToken[];
      for (const t of list) this.tokens.set(t.id, t);
    }
  }

  create(node: string, kind: NodeKind, ttlMs: number, caCertPem: string, addresses: readonly string[] = []): { token: string; expiresAt: Date } {
    const expiresAt = this.now() + ttlMs;
    const { stored, token } = mintToken(node, kind, expiresAt, caCertPem, addresses);
    this.tokens.set(stored.id, stored);
    this.persist();
    return { token, expiresAt: new Date(expiresAt) };
  }

  /**
   * Consumes the token: a second redemption is refused even if the first
   * enrollment failed later. A token is for one node name and one kind: an
   * agent's token does not enroll a gateway, nor the reverse.
   */
  redeem(tokenText: string, node: string, kind: NodeKind): RedeemResult {
    const id = tokenId(tokenText);
    const t = id === undefined ? undefined : this.tokens.get(id);
    const verdict = judgeRedemption(t, tokenText, node, kind, this.now());
    if (verdict.kind !== 'consume') return verdict;
    t!.usedAt = this.now();
    this.persist();
    return verdict.result;
  }

  private persist(): void {
    const horizon = this.now() - TOKEN_RETENTION_MS;
    for (const [id, t] of this.tokens) if (t.expiresAt < horizon) this.tokens.delete(id);
    writeFileAtomicSync(this.path, JSON.stringify([...this.tokens.values()], null, 1), 0o600);
  }
}
