// Brings a node (agent or gateway) to an enrolled state: from its cache on
// disk if it has one (so it starts while the controller is down), otherwise by
// redeeming its join token. Keeps the node SVID renewed at half life.
import { readFileSync } from 'node:fs';
import { EntenteError, describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { generateKeyPair, privateKeyToPem } from '../identity/keys.js';
import { createCsrPem } from '../identity/csr.js';
import { X509Certificate } from 'node:crypto';
import { ControllerClient, enrollWithAny } from './controller-client.js';
import type { NodeState, StoredCredential } from './node-state.js';
import { renewAtMs } from './svid-manager.js';

export interface NodeIdentityOptions {
  readonly node: string;
  readonly kind: 'agent' | 'gateway';
  /** The region controller, or each of its replicas. */
  readonly controllerUrls: readonly string[];
  readonly joinToken?: string;
  readonly joinTokenFile?: string;
  readonly state: NodeState;
  readonly log: Logger;
}

export interface NodeIdentity {
  readonly client: ControllerClient;
  stop(): void;
}

export async function establishNodeIdentity(o: NodeIdentityOptions): Promise<NodeIdentity> {
  let enrollment = o.state.enrollment();
  if (enrollment && enrollment.node !== o.node) {
    throw new EntenteError('NODE_MISMATCH', `data directory ${o.state.dir} belongs to node ${enrollment.node}, not ${o.node}`, { hint: 'use a separate dataDir per node' });
  }
  if (!enrollment || !o.state.nodeCredential()) {
    const token = o.joinToken ?? (o.joinTokenFile ? readFileSync(o.joinTokenFile, 'utf8').trim() : undefined);
    if (!token) throw new EntenteError('NOT_ENROLLED', `node ${o.node} is not enrolled and has no join token`, { hint: 'create one with `entente token create --node NAME` and set joinToken' });
    const r = await enrollWithAny(o.controllerUrls, token, o.node, o.kind);
    o.state.saveEnrollment(r.enrollment);
    o.state.saveNodeCredential(r.credential);
    o.state.saveOwnBundle(r.bundle);
    enrollment = r.enrollment;
    o.log.info({ region: enrollment.region, trustDomain: enrollment.trustDomain }, 'enrolled');
  } else {
    o.log.info({ region: enrollment.region }, 'using the enrollment cached on disk');
  }
  let credential: StoredCredential = o.state.nodeCredential()!;
  const client = new ControllerClient({ urls: o.controllerUrls, enrollment, credential: () => credential, log: o.log });

  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number): void => {
    timer = setTimeout(() => void renew(), Math.max(1000, delayMs));
    timer.unref();
  };
  const renew = async (): Promise<void> => {
    try {
      const keys = await generateKeyPair();
      const res = await client.post('/v1/node/svid', { csr: await createCsrPem(keys, credential.spiffeId) });
      if (res.status !== 200) throw new Error(`controller answered ${res.status}`);
      const chainPem = String(res.body.chainPem);
      credential = {
        spiffeId: credential.spiffeId,
        keyPem: await privateKeyToPem(keys.privateKey),
        chainPem,
        notBefore: new Date(new X509Certificate(chainPem).validFrom).toISOString(),
        notAfter: String(res.body.notAfter),
      };
      o.state.saveNodeCredential(credential);
      schedule(renewAtMs(Date.parse(credential.notBefore), Date.parse(credential.notAfter)) - Date.now());
    } catch (err) {
      const left = (Date.parse(credential.notAfter) - Date.now()) / 1000;
      o.log.warn({ err: describeError(err), secondsLeft: Math.round(left) }, 'node SVID renewal failed; retrying');
      schedule(Math.min(10_000, Math.max(1000, left * 100)));
    }
  };
  schedule(renewAtMs(Date.parse(credential.notBefore), Date.parse(credential.notAfter)) - Date.now());
  return { client, stop: () => timer && clearTimeout(timer) };
}
