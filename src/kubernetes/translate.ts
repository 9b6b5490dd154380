// Kubernetes objects as Entente resources (docs/deploy.md "Kubernetes"):
// - a Service becomes a Service: its numeric ports, `appProtocol` giving the
//   protocol (http; http2, h2c and grpc as http2; anything else tcp), exported
//   to other regions when annotated `entente.dev/export: "true"`;
// - each ready endpoint of its EndpointSlices that points at a Pod becomes a
//   Workload of that Service: the Pod's IP, its service account (which must
//   exist) and its node, from `spec.nodeName`, which is what lets an agent get
//   SVIDs only for its own node's pods;
// - Entente's own kinds come from their CRDs as they are.
// Pure. Every result is then checked by the same schemas as a file
// (source.ts); here only the mapping, and what cannot be mapped, with why.
import { stringify } from 'yaml';
import type { KubeObject } from './reflector.js';

export interface KubeObjects {
  readonly services: readonly KubeObject[];
  readonly endpointSlices: readonly KubeObject[];
  readonly pods: readonly KubeObject[];
  readonly serviceAccounts: readonly KubeObject[];
  /** Entente's kinds, from the CRDs. */
  readonly custom: readonly KubeObject[];
}

export interface TranslatedDoc {
  /** Where it came from, as errors and logs name it: "kubernetes:pods/shop/web-1". */
  readonly origin: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The resource as YAML, for the loader. */
  readonly text: string;
}

export interface Skipped {
  readonly origin: string;
  readonly reason: string;
}

const HTTP2 = new Set(['http2', 'h2c', 'kubernetes.io/h2c', 'grpc']);

function protocolOf(appProtocol: unknown): 'http' | 'http2' | 'tcp' {
  if (typeof appProtocol !== 'string') return 'tcp';
  const p = appProtocol.toLowerCase();
  if (p === 'http' || p === 'kubernetes.io/http') return 'http';
  return HTTP2.has(p) ? 'http2' : 'tcp';
}

const doc = (kind: string, namespace: string, name: string, spec: unknown): string => stringify({ apiVersion: 'entente.dev/v1alpha1', kind, metadata: { name, namespace }, spec });

interface ServicePort {
  readonly port?: unknown;
  readonly targetPort?: unknown;
  readonly protocol?: unknown;
  readonly appProtocol?: unknown;
  readonly name?: unknown;
}

export function translate(objs: KubeObjects): { docs: TranslatedDoc[]; skipped: Skipped[] } {
  const docs: TranslatedDoc[] = [];
  const skipped: Skipped[] = [];
  const podByKey = new Map(objs.pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
  const accounts = new Set(objs.serviceAccounts.map((a) => `${a.metadata.namespace}/${a.metadata.name}`));
  const services = new Map<string, KubeObject>();

  for (const s of objs.services) {
    const ns = s.metadata.namespace ?? 'default';
    const origin = `kubernetes:services/${ns}/${s.metadata.name}`;
    const spec = (s.spec ?? {}) as { ports?: ServicePort[]; type?: unknown };
    if (spec.type === 'ExternalName') {
      skipped.push({ origin, reason: 'type ExternalName: no endpoints of its own' });
      continue;
    }
    const ports = (spec.ports ?? []).flatMap((p) => {
      if (p.protocol !== undefined && p.protocol !== 'TCP') return [];
      // A named targetPort means a container port per pod; Entente's Service has one target port: use the same number.
      const target = typeof p.targetPort === 'number' ? p.targetPort : p.port;
      return [{ port: p.port, targetPort: target, protocol: protocolOf(p.appProtocol) }];
    });
    if (ports.length === 0) {
      skipped.push({ origin, reason: 'no TCP port' });
      continue;
    }
    services.set(`${ns}/${s.metadata.name}`, s);
    const exported = s.metadata.annotations?.['entente.dev/export'] === 'true';
    docs.push({ origin, kind: 'Service', namespace: ns, name: s.metadata.name, text: doc('Service', ns, s.metadata.name, { ports, ...(exported ? { export: true } : {}) }) });
  }

  // Each Pod becomes one Workload, of the first Service (by name) whose EndpointSlices list it ready.
  const claimed = new Map<string, string>();
  const slices = [...objs.endpointSlices].sort((a, b) => (a.metadata.labels?.['kubernetes.io/service-name'] ?? '').localeCompare(b.metadata.labels?.['kubernetes.io/service-name'] ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  for (const slice of slices) {
    const ns = slice.metadata.namespace ?? 'default';
    const svc = slice.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc || !services.has(`${ns}/${svc}`)) continue;
    if ((slice as { addressType?: unknown }).addressType === 'FQDN') continue;
    const endpoints = ((slice as { endpoints?: unknown }).endpoints ?? []) as { addresses?: unknown; conditions?: { ready?: unknown }; targetRef?: { kind?: unknown; name?: unknown; namespace?: unknown } }[];
    for (const e of Array.isArray(endpoints) ? endpoints : []) {
      const ref = e.targetRef;
      if (ref?.kind !== 'Pod' || typeof ref.name !== 'string') continue;
      const origin = `kubernetes:pods/${ns}/${ref.name}`;
      if (e.conditions?.ready === false) continue; // not serving: no endpoint (it comes back when ready)
      const address = Array.isArray(e.addresses) && typeof e.addresses[0] === 'string' ? e.addresses[0] : undefined;
      const pod = podByKey.get(`${ns}/${ref.name}`);
      const owner = claimed.get(`${ns}/${ref.name}`);
      if (owner === svc) continue; // listed again by another slice of the same Service
      if (owner !== undefined) {
        skipped.push({ origin, reason: `also behind Service ${svc}: a Workload belongs to one Service (kept in ${owner})` });
        continue;
      }
      if (!pod) {
        skipped.push({ origin, reason: 'its Pod is not known (yet)' });
        continue;
      }
      const podSpec = (pod.spec ?? {}) as { nodeName?: unknown; serviceAccountName?: unknown };
      if (typeof podSpec.nodeName !== 'string' || podSpec.nodeName === '') {
        skipped.push({ origin, reason: 'not scheduled on a node (spec.nodeName)' });
        continue;
      }
      const account = typeof podSpec.serviceAccountName === 'string' && podSpec.serviceAccountName !== '' ? podSpec.serviceAccountName : 'default';
      if (!accounts.has(`${ns}/${account}`)) {
        skipped.push({ origin, reason: `its service account ${account} does not exist` });
        continue;
      }
      if (!address) {
        skipped.push({ origin, reason: 'the endpoint has no address' });
        continue;
      }
      claimed.set(`${ns}/${ref.name}`, svc);
      docs.push({ origin, kind: 'Workload', namespace: ns, name: ref.name, text: doc('Workload', ns, ref.name, { service: svc, serviceAccount: account, node: podSpec.nodeName, address }) });
    }
  }

  for (const c of objs.custom) {
    const ns = c.metadata.namespace ?? 'default';
    const kind = typeof c.kind === 'string' ? c.kind : '';
    docs.push({ origin: `kubernetes:${kind.toLowerCase()}/${ns}/${c.metadata.name}`, kind, namespace: ns, name: c.metadata.name, text: doc(kind, ns, c.metadata.name, c.spec) });
  }
  return { docs, skipped };
}
