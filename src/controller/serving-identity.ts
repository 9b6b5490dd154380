// The controller's own SVID (spiffe://<td>/controller), signed in-process by
// the region CA and renewed at half life. Its TLS chain also carries the CA
// certificate so that a new agent can check it against its join token's pin.
import { generateKeyPair, privateKeyToPem } from '../identity/keys.js';
import type { LocalCa } from '../identity/local-ca.js';
import { SpiffeId } from '../identity/spiffe-id.js';

export interface ServingMaterial {
  readonly key: string;
  /** Leaf then CA certificate. */
  readonly cert: string;
  readonly notAfter: Date;
}

export class ServingIdentity {
  readonly spiffeId: SpiffeId;
  private material: ServingMaterial | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((m: ServingMaterial) => void)[] = [];

  constructor(
    private readonly ca: LocalCa,
    private readonly ttlMs: number,
  ) {
    this.spiffeId = SpiffeId.fromParts(ca.trustDomain, ['controller']);
  }

  async start(): Promise<ServingMaterial> {
    await this.renew();
    return this.current();
  }

  current(): ServingMaterial {
    if (!this.material) throw new Error('ServingIdentity.start() was not awaited');
    return this.material;
  }

  onRenew(listener: (m: ServingMaterial) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private async renew(): Promise<void> {
    const keys = await generateKeyPair();
    const svid = await this.ca.issue(this.spiffeId, keys.publicKey, this.ttlMs);
    this.material = { key: await privateKeyToPem(keys.privateKey), cert: svid.chainPem + this.ca.caCertPem, notAfter: svid.notAfter };
    for (const l of this.listeners) l(this.material);
    const halfLife = (svid.notAfter.getTime() - Date.now()) / 2;
    this.timer = setTimeout(() => void this.renew().catch(() => undefined), Math.max(1000, halfLife));
    this.timer.unref();
  }
}
