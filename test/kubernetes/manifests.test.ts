// The Kustomize base (deploy/kubernetes/base) as `kubectl kustomize` builds it:
// the objects expected, every service account, ConfigMap and claim a pod
// names exists (or is one the operator creates), the configs in the
// ConfigMaps pass `entente validate` as each pod runs them, and agree with
// the manifests (paths, ports, the agents' account and audience), the
// controller's RBAC is exactly what its code calls, every container is
// hardened and bounded. No API server can run here: nothing is applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';
import { validateText } from '../../src/cli/validate-files.js';
import { checkConfigText } from '../../src/core/config-file.js';
import { withAdvertiseIp } from '../../src/cli/agent-flags.js';
import { agentConfigSchema } from '../../src/agent/agent-config.js';
import { watchedCollections } from '../../src/kubernetes/source.js';
import { CRD_NAMES } from '../../src/kubernetes/crds.js';
import { RESOURCE_KINDS } from '../../src/policy/resources.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NS = 'entente-system';
/** Objects the operator creates (docs/deploy.md "Kubernetes"): the pods name them, the base does not ship them. */
const OPERATOR_MADE = { configMaps: ['entente-controller-ca'], secrets: ['entente-gateway-join'] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const skip = kubectl.error ? 'kubectl is not installed, so the Kustomize base is not built or checked (scripts/setup-test-deps.sh installs the Debian package kubernetes-client)' : false;

let built: Obj[] | undefined;
/** The base as kubectl builds it (once: each test reads it, none changes it). */
function build(): Obj[] {
  if (built) return built;
  const r = spawnSync('kubectl', ['kustomize', 'deploy/kubernetes/base'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `kubectl kustomize failed: ${r.stderr}`);
  built = parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null);
  return built;
}

const podSpec = (o: Obj): Obj | undefined => o.spec?.template?.spec;
const of = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is in the base`);
  return o;
};
/** The kubelet's $(VAR) expansion of a container's args, with a value per downward-API variable. */
const expand = (args: string[], values: Record<string, string>): string[] => args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, v: string) => values[v] ?? `$(${v})`));
const flag = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
/** The ConfigMap key a container reads at `path`, through its volume mounts. */
function fileAt(objs: Obj[], workload: Obj, path: string): string {
  const spec = podSpec(workload)!;
  const mount = spec.containers[0].volumeMounts.find((m: Obj) => path.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `${path} is on a volume of ${workload.metadata.name}`);
  const volume = spec.volumes.find((v: Obj) => v.name === mount.name);
  assert.ok(volume?.configMap, `${path} comes from a ConfigMap`);
  const text = of(objs, 'ConfigMap', volume.configMap.name).data[path.slice(mount.mountPath.length + 1)];
  assert.equal(typeof text, 'string', `${volume.configMap.name} has ${path}`);
  return text as string;
}
const mountOf = (workload: Obj, volume: string): string => podSpec(workload)!.containers[0].volumeMounts.find((m: Obj) => m.name === volume).mountPath;
const portOf = (address: string): number => Number(/:(\d+)$/.exec(address)![1]);

test('the Kustomize base builds into the objects expected, each in entente-system', { skip }, () => {
  const objs = build();
  const names = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  assert.deepEqual(names, [
    ...RESOURCE_KINDS.map((k) => `CustomResourceDefinition/${CRD_NAMES[k].plural}.entente.dev`),
    'ClusterRole/entente-controller', 'ClusterRoleBinding/entente-controller',
    'ConfigMap/entente-agent-config', 'ConfigMap/entente-controller-config', 'ConfigMap/entente-gateway-config',
    'DaemonSet/entente-agent', 'Deployment/entente-controller', 'Deployment/entente-gateway',
    `Namespace/${NS}`,
    'PersistentVolumeClaim/entente-controller-data', 'PersistentVolumeClaim/entente-gateway-data',
    'Role/entente-controller-lease', 'RoleBinding/entente-controller-lease',
    'Service/entente-controller', 'Service/entente-gateway',
    'ServiceAccount/entente-agent', 'ServiceAccount/entente-controller', 'ServiceAccount/entente-gateway',
  ].sort());
  const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
  for (const o of objs) assert.equal(o.metadata.namespace, clusterScoped.has(o.kind) ? undefined : NS, `${o.kind}/${o.metadata.name}`);
  // One image for every component, named by the kustomization's images entry.
  const images = new Set(objs.flatMap((o) => podSpec(o)?.containers.map((c: Obj) => c.image) ?? []));
  assert.deepEqual([...images], ['entente:0.1.0']);
  // State in files on one volume: one controller (controller.yaml says why), replaced, not rolled.
  const controller = of(objs, 'Deployment', 'entente-controller');
  assert.equal(controller.spec.replicas, 1);
  assert.equal(controller.spec.strategy.type, 'Recreate');
  assert.equal(of(objs, 'Service', 'entente-gateway').spec.type, 'LoadBalancer');
});

test('every account, ConfigMap, Secret and claim a pod or binding names exists, or is one the operator makes', { skip }, () => {
  const objs = build();
  const has = (kind: string, name: string): boolean => objs.some((o) => o.kind === kind && o.metadata.name === name);
  for (const o of objs.filter(podSpec)) {
    const spec = podSpec(o)!;
    assert.ok(has('ServiceAccount', spec.serviceAccountName), `${o.metadata.name}: ServiceAccount ${spec.serviceAccountName}`);
    for (const v of spec.volumes as Obj[]) {
      if (v.configMap) assert.ok(has('ConfigMap', v.configMap.name) || OPERATOR_MADE.configMaps.includes(v.configMap.name), `${o.metadata.name}: ConfigMap ${v.configMap.name}`);
      if (v.secret) assert.ok(OPERATOR_MADE.secrets.includes(v.secret.secretName), `${o.metadata.name}: Secret ${v.secret.secretName}`);
      if (v.persistentVolumeClaim) assert.ok(has('PersistentVolumeClaim', v.persistentVolumeClaim.claimName), `${o.metadata.name}: claim ${v.persistentVolumeClaim.claimName}`);
    }
    for (const m of spec.containers[0].volumeMounts as Obj[]) assert.ok(spec.volumes.some((v: Obj) => v.name === m.name), `${o.metadata.name}: volume ${m.name}`);
  }
  for (const b of objs.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
    assert.ok(has(b.roleRef.kind, b.roleRef.name), `${b.metadata.name}: ${b.roleRef.kind} ${b.roleRef.name}`);
    for (const s of b.subjects as Obj[]) {
      assert.equal(s.kind, 'ServiceAccount');
      assert.equal(s.namespace, NS);
      assert.ok(has('ServiceAccount', s.name), `${b.metadata.name}: ServiceAccount ${s.name}`);
    }
  }
  // The Services select pods that exist, and name their ports.
  for (const svc of objs.filter((o) => o.kind === 'Service')) {
    const target = objs.find((o) => podSpec(o) && Object.entries(svc.spec.selector as Obj).every(([k, v]) => o.spec.template.metadata.labels[k] === v));
    assert.ok(target, `Service ${svc.metadata.name} selects a workload`);
    const ports = podSpec(target)!.containers[0].ports.map((p: Obj) => p.name);
    for (const p of svc.spec.ports as Obj[]) assert.ok(ports.includes(p.targetPort), `Service ${svc.metadata.name}: port ${p.targetPort}`);
  }
});

test('the configs in the ConfigMaps pass `entente validate` as each pod runs them, and agree with the manifests', { skip }, () => {
  const objs = build();
  const controller = of(objs, 'Deployment', 'entente-controller');
  const agents = of(objs, 'DaemonSet', 'entente-agent');
  const gateway = of(objs, 'Deployment', 'entente-gateway');
  const argsOf = (o: Obj, values: Record<string, string> = {}): string[] => expand(podSpec(o)!.containers[0].args, values);

  // region.yaml
  const regionText = fileAt(objs, controller, flag(argsOf(controller), '--config')!);
  const region = validateText('region.yaml', regionText);
  assert.deepEqual([region.kind, region.problems], ['region', []]);
  const r = parse(regionText) as Obj;
  assert.equal(r.dataDir, mountOf(controller, 'data'));
  assert.equal(r.resources, mountOf(controller, 'resources'));
  assert.equal(r.kubernetes.kubeconfig, undefined, 'in-cluster: the pod\'s service account');

  // agent.yaml: the kubelet gives --node and --advertise-ip from the downward API.
  const args = argsOf(agents, { NODE_NAME: 'worker-1', HOST_IP: '10.0.0.7' });
  const agentText = fileAt(objs, agents, flag(args, '--config')!);
  assert.equal((parse(agentText) as Obj).node, undefined, 'one file for every node: the node comes from --node');
  const agent = validateText('agent.yaml', `node: ${flag(args, '--node')}\n${agentText}`);
  assert.deepEqual([agent.kind, agent.problems], ['agent', []]);
  const checked = checkConfigText(agentConfigSchema, agentText, 'agent.yaml', { node: flag(args, '--node') });
  assert.ok(checked.ok);
  assert.deepEqual(withAdvertiseIp(checked.value, flag(args, '--advertise-ip')!).advertise, { host: '10.0.0.7', port: 15008 });
  const a = parse(agentText) as Obj;
  const spec = podSpec(agents)!;
  assert.equal(spec.hostNetwork, true);
  assert.equal(spec.automountServiceAccountToken, false, 'the agents use their projected token only');
  // The token the agent reads is the projected one, for the audience the controller checks, of the account it accepts.
  const projected = spec.volumes.find((v: Obj) => v.name === 'token').projected.sources[0].serviceAccountToken;
  assert.equal(a.kubernetesTokenFile, `${mountOf(agents, 'token')}/${projected.path}`);
  assert.equal(projected.audience, r.kubernetes.agentAttestation.audience);
  assert.deepEqual(r.kubernetes.agentAttestation.serviceAccounts, [`${NS}/${spec.serviceAccountName}`]);
  assert.equal(spec.volumes.find((v: Obj) => v.name === 'controller-ca').configMap.name, 'entente-controller-ca');
  assert.ok(a.controllerCaFile.startsWith(`${mountOf(agents, 'controller-ca')}/`));
  assert.equal(a.dataDir, mountOf(agents, 'data'));

  // gateway.yaml
  const gatewayText = fileAt(objs, gateway, flag(argsOf(gateway), '--config')!);
  const gw = validateText('gateway.yaml', gatewayText);
  assert.deepEqual([gw.kind, gw.problems], ['gateway', []]);
  const g = parse(gatewayText) as Obj;
  const join = podSpec(gateway)!.volumes.find((v: Obj) => v.secret);
  assert.equal(g.joinTokenFile, `${mountOf(gateway, join.name)}/token`);
  assert.equal(join.secret.optional, true, 'once enrolled, the gateway starts without its spent token');
  assert.equal(g.dataDir, mountOf(gateway, 'data'));

  // Agents and the gateway dial the controller's Service; the probes and ports are the configs' listeners.
  const svc = of(objs, 'Service', 'entente-controller');
  const agentsPort = svc.spec.ports.find((p: Obj) => p.name === 'agents').port;
  for (const c of [a, g]) assert.equal(c.controller, `https://${svc.metadata.name}.${NS}.svc:${agentsPort}`);
  const containerPort = (o: Obj, name: string): number => podSpec(o)!.containers[0].ports.find((p: Obj) => p.name === name).containerPort;
  assert.equal(containerPort(controller, 'agents'), portOf(r.listen.agents));
  assert.equal(containerPort(controller, 'admin'), portOf(r.listen.admin));
  assert.equal(containerPort(agents, 'mesh'), portOf(a.listen.inbound));
  assert.equal(containerPort(gateway, 'mesh'), portOf(g.listen));
  assert.equal(containerPort(gateway, 'metrics'), portOf(g.metrics));
  const c0 = spec.containers[0];
  for (const p of [c0.startupProbe, c0.livenessProbe, c0.readinessProbe]) {
    // On the host network the kubelet reaches the agent's loopback-only metrics port at 127.0.0.1.
    assert.equal(`${p.httpGet.host}:${p.httpGet.port}`, a.listen.metrics);
  }
});

test("the controller's RBAC is exactly what its code calls; the agents and the gateway get none", { skip }, () => {
  const objs = build();
  const grants = (rules: Obj[]): string[] =>
    rules.flatMap((rule) => {
      assert.equal(rule.nonResourceURLs, undefined);
      return (rule.apiGroups as string[]).flatMap((g) => (rule.resources as string[]).flatMap((res) => (rule.verbs as string[]).map((v) => `${g}/${res}${rule.resourceNames ? `[${rule.resourceNames.join(',')}]` : ''}: ${v}`)));
    }).sort();
  // The Kubernetes source lists and watches each of its collections (src/kubernetes/source.ts); node attestation creates TokenReviews.
  const allowed = [...watchedCollections().flatMap((c) => [`${c.group}/${c.resource}: list`, `${c.group}/${c.resource}: watch`]), 'authentication.k8s.io/tokenreviews: create'].sort();
  const roles = objs.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
  assert.deepEqual(roles.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['ClusterRole/entente-controller', 'Role/entente-controller-lease']);
  assert.deepEqual(grants(of(objs, 'ClusterRole', 'entente-controller').rules), allowed);
  for (const g of grants(roles.flatMap((o) => o.rules))) assert.doesNotMatch(g, /\*/, 'no wildcard');
  // The Lease elector (src/kubernetes/lease-elector.ts): get, create and update of one Lease in the namespace.
  assert.deepEqual(grants(of(objs, 'Role', 'entente-controller-lease').rules), ['coordination.k8s.io/leases: create', 'coordination.k8s.io/leases[entente-controller]: get', 'coordination.k8s.io/leases[entente-controller]: update']);
  const bound = objs.filter((o) => o.kind.endsWith('Binding')).flatMap((b) => b.subjects.map((s: Obj) => s.name));
  assert.deepEqual([...new Set(bound)], ['entente-controller']);
  for (const name of ['entente-agent', 'entente-gateway']) {
    const pod = objs.find((o) => podSpec(o)?.serviceAccountName === name)!;
    assert.equal(podSpec(pod)!.automountServiceAccountToken, false, `${name} mounts no API token`);
  }
});

test('every container runs as non-root, read-only, without capabilities, bounded, probed', { skip }, () => {
  const objs = build();
  for (const o of objs.filter(podSpec)) {
    const spec = podSpec(o)!;
    assert.equal(spec.securityContext.runAsNonRoot, true, o.metadata.name);
    assert.equal(spec.securityContext.runAsUser, 10001, `${o.metadata.name}: the image's user (deploy/Containerfile)`);
    assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault');
    for (const c of spec.containers as Obj[]) {
      const what = `${o.metadata.name}/${c.name}`;
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, what);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, what);
      assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] }, what);
      assert.equal(c.securityContext.privileged, undefined, what);
      for (const k of ['cpu', 'memory']) {
        assert.ok(c.resources.requests[k], `${what}: requests.${k}`);
        assert.ok(c.resources.limits[k], `${what}: limits.${k}`);
      }
      for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.ok(c[p]?.httpGet?.path, `${what}: ${p}`);
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    }
    assert.equal(spec.hostPID, undefined, o.metadata.name);
    assert.equal(spec.hostNetwork === true, o.kind === 'DaemonSet', `${o.metadata.name}: only the agents use the host network`);
  }
});
