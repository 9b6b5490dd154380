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

interface StoredToken {
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

export class JoinTokenStore {
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
    const id = randomBytes(8).toString('base64url');
    const secret = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + ttlMs;
    this.tokens.set(id, { id, secretSha256: sha256(secret), node, kind, ...(addresses.length > 0 ? { addresses: [...addresses] } : {}), expiresAt });
    this.persist();
    return { token: `ej1.${id}.${secret}.${caPin(caCertPem)}`, expiresAt: new Date(expiresAt) };
  }

  /**
   * Consumes the token: a second redemption is refused even if the first
   * enrollment failed later. A token is for one node name and one kind: an
   * agent's token does not enroll a gateway, nor the reverse.
   */
  redeem(tokenText: string, node: string, kind: NodeKind): RedeemResult {
    let parsed: ParsedJoinToken;
    try {
      parsed = parseJoinToken(tokenText);
    } catch {
      return { kind: 'refused', code: 'TOKEN_UNKNOWN', reason: 'join token is malformed' };
    }
    const t = this.tokens.get(parsed.id);
    const given = Buffer.from(sha256(parsed.secret));
    if (!t || !timingSafeEqual(given, Buffer.from(t.secretSha256))) {
      return { kind: 'refused', code: 'TOKEN_UNKNOWN', reason: 'join token is not known to this controller' };
    }
    if (t.usedAt !== undefined) {
      return { kind: 'refused', code: 'TOKEN_REPLAYED', reason: `join token was already used at ${new Date(t.usedAt).toISOString()}` };
    }
    if (this.now() > t.expiresAt) {
      return { kind: 'refused', code: 'TOKEN_EXPIRED', reason: `join token expired at ${new Date(t.expiresAt).toISOString()}` };
    }
    if (t.node !== node) {
      return { kind: 'refused', code: 'TOKEN_NODE_MISMATCH', reason: `join token is for node "${t.node}", not "${node}"` };
    }
    if (t.kind !== kind) {
      // Not consumed: the operator may have started the right component with the wrong config.
      return { kind: 'refused', code: 'TOKEN_KIND_MISMATCH', reason: `join token was made for ${article(t.kind)}, not ${article(kind)} (node "${node}")` };
    }
    t.usedAt = this.now();
    this.persist();
    return { kind: 'ok', node: t.node, nodeKind: t.kind, addresses: t.addresses ?? [] };
  }

  private persist(): void {
    // Forget tokens a day past expiry; keep used ones that long to report replays clearly.
    const horizon = this.now() - 86_400_000;
    for (const [id, t] of this.tokens) if (t.expiresAt < horizon) this.tokens.delete(id);
    writeFileAtomicSync(this.path, JSON.stringify([...this.tokens.values()], null, 1), 0o600);
  }
}
