// The TLS server name that addresses one workload on one agent across the
// mesh: "<workload>.<namespace>.<node>.<trust-domain>". Gateways route on the
// node label alone; the destination agent picks the workload's SVID by it.
// Every label is a DNS label, so the name is a valid SNI host_name.

export interface MeshSniName {
  readonly workload: string;
  readonly namespace: string;
  readonly node: string;
  readonly trustDomain: string;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

export function formatMeshSni(n: MeshSniName): string {
  return `${n.workload}.${n.namespace}.${n.node}.${n.trustDomain}`;
}

/** Parses a server name addressed to `trustDomain`; undefined when it is not one of ours. */
export function parseMeshSni(sni: string, trustDomain: string): MeshSniName | undefined {
  const name = sni.toLowerCase();
  const suffix = `.${trustDomain.toLowerCase()}`;
  if (!name.endsWith(suffix)) return undefined;
  const labels = name.slice(0, -suffix.length).split('.');
  if (labels.length !== 3 || !labels.every(isDnsLabel)) return undefined;
  const [workload, namespace, node] = labels as [string, string, string];
  return { workload, namespace, node, trustDomain: trustDomain.toLowerCase() };
}
