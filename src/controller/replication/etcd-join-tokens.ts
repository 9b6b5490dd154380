// Join tokens shared by a region's controller replicas: one etcd key per
// token (its secret only as a hash), so a token made by any replica enrolls
// through any other, once. Redeeming marks the token used in a transaction
// that holds only if nobody changed it since it was read: two replicas
// handed the same token at the same moment cannot both accept it. Each key
// carries its own lease, so etcd forgets a token a day after it expires.
import type { Etcd3 } from 'etcd3';
import type { StateKey } from './state-key.js';
import { TOKEN_RETENTION_MS, judgeRedemption, mintToken, tokenId, type JoinTokens, type NodeKind, type RedeemResult, type StoredToken } from '../join-tokens.js';

function parseStored(text: string): StoredToken | undefined {
  try {
    const t = JSON.parse(text) as Partial<StoredToken>;
    if (typeof t.id !== 'string' || typeof t.secretSha256 !== 'string' || typeof t.node !== 'string' || (t.kind !== 'agent' && t.kind !== 'gateway') || typeof t.expiresAt !== 'number') return undefined;
    if (t.usedAt !== undefined && typeof t.usedAt !== 'number') return undefined;
    if (t.addresses !== undefined && !(Array.isArray(t.addresses) && t.addresses.every((a) => typeof a === 'string'))) return undefined;
    return t as StoredToken;
  } catch {
    return undefined;
  }
}

export class EtcdJoinTokens implements JoinTokens {
  constructor(
    private readonly client: Etcd3,
    /** e.g. "/entente/eu/tokens/" */
    private readonly prefix: string,
    /** Authenticates every token record: one written to etcd without the state key enrolls nobody. */
    private readonly stateKey: StateKey,
    private readonly now: () => number = Date.now,
    private readonly onForged: () => void = () => undefined,
  ) {}

  async create(node: string, kind: NodeKind, ttlMs: number, caCertPem: string, addresses: readonly string[] = []): Promise<{ token: string; expiresAt: Date }> {
    const expiresAt = this.now() + ttlMs;
    const { stored, token } = mintToken(node, kind, expiresAt, caCertPem, addresses);
    const lease = this.client.lease(Math.ceil((ttlMs + TOKEN_RETENTION_MS) / 1000), { autoKeepAlive: false });
    await lease.put(this.prefix + stored.id).value(this.stateKey.authenticate(JSON.stringify(stored), this.prefix + stored.id));
    return { token, expiresAt: new Date(expiresAt) };
  }

  async redeem(tokenText: string, node: string, kind: NodeKind): Promise<RedeemResult> {
    const id = tokenId(tokenText);
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = id === undefined ? undefined : await this.client.get(this.prefix + id).exec();
      const kv = res?.kvs[0];
      const text = kv ? this.stateKey.verify(kv.value.toString('utf8'), this.prefix + id!) : undefined;
      if (kv && text === undefined) this.onForged();
      const stored = text !== undefined ? parseStored(text) : undefined;
      const verdict = judgeRedemption(stored, tokenText, node, kind, this.now());
      if (verdict.kind !== 'consume') return verdict;
      const used = this.stateKey.authenticate(JSON.stringify({ ...stored!, usedAt: this.now() }), this.prefix + id!);
      const txn = await this.client
        .if(this.prefix + id!, 'Mod', '==', kv!.mod_revision)
        .then(this.client.put(this.prefix + id!).value(used).ignoreLease())
        .commit();
      if (txn.succeeded) return verdict.result;
      // Changed since we read it (most likely redeemed through another replica): judge it again as it is now.
    }
    return { kind: 'refused', code: 'TOKEN_REPLAYED', reason: 'join token is being redeemed through another controller replica' };
  }
}
