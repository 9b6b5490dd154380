// Assembles a region's controller: CA, registry of resources and nodes, the
// agent API, the federation (peer API + peer sync) and the admin API. It
// never needs another region to serve its own.
import { registerProcessMetrics } from '../core/process-metrics.js';
import { ENTENTE_VERSION, registerBuildInfo } from '../core/build-info.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatSocketAddress, sameListener, type SocketAddress } from '../core/address.js';
import { Counter, Gauge, Registry } from 'prom-client';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import type { Logger } from '../core/log.js';
import { LocalCa } from '../identity/local-ca.js';
import { parseTrustDomain } from '../identity/spiffe-id.js';
import { toWireBundle, type WireBundle } from '../mesh/wire-bundle.js';
import { bundleToJson } from '../identity/trust-bundle.js';
import { ResourceStore, type ResourceStoreStatus } from '../policy/resource-store.js';
import { LastGoodFile } from '../policy/last-good-file.js';
import type { MeshConfig, RegionState } from '../mesh/mesh-config.js';
import { FederationState } from '../federation/federation-state.js';
import { PeerSync } from '../federation/peer-sync.js';
import { startPeerApi } from '../federation/peer-api.js';
import { StateSigner } from '../federation/state-signer.js';
import { BundlePoller } from '../federation/bundle-poller.js';
import { startBundleEndpointServer } from '../federation/bundle-endpoint-server.js';
import { regionStateSigner } from '../identity/region-state.js';
import type { ControllerConfig } from './controller-config.js';
import { JoinTokenStore, type JoinTokens } from './join-tokens.js';
import { NodeRegistry } from './node-registry.js';
import { ServingIdentity } from './serving-identity.js';
import { startAgentApi } from './agent-api.js';
import { startAdminApi } from './admin-api.js';
import { AnycastWatch } from './anycast-watch.js';
import { ConfigVersion } from './config-version.js';
import { buildMeshConfigBody, buildRegionStateBody, exportedServices, type ViewInputs } from './mesh-views.js';
import { policyDigests, type PolicyDigests } from '../policy/policy-digests.js';
import { resourceCommit } from '../policy/git-commit.js';
import type { ResourceSet } from '../policy/resource-set.js';
import { computeDrift } from '../federation/drift.js';
import { listed, withPaths } from '../federation/region-paths.js';
import { LinkReports } from './link-reports.js';
import { RegionFlows } from './region-flows.js';
import { expiryReport } from './expiry.js';
import { DataProbes, SUMMARY_REFRESH_MS } from './data-probes.js';
import { buildServiceMap, type SloConfig } from './service-map.js';
import { loadDashboardAssets } from './dashboard-assets.js';
import { FLOW_LIMIT_MAX } from './flow-query.js';
import type { FlowFilter } from './flow-query.js';
import { startKubernetesSource } from './kubernetes-source.js';
import { followReplica, signedStateVersion } from './replication/follow-replica.js';
import { describeError } from '../core/errors.js';
import { buildResourceSet } from '../policy/resource-set.js';

export interface RunningController {
  readonly config: ControllerConfig;
  readonly adminCredentialPath: string;
  /** Where each API listens (resolved: port 0 in the config becomes the real port). */
  readonly addresses: { readonly agents: SocketAddress; readonly peers: SocketAddress; readonly admin: SocketAddress };
  close(): Promise<void>;
}

function boundAddress(s: Server): SocketAddress {
  const a = s.address() as AddressInfo;
  return { host: a.address, port: a.port };
}

function closeServer(s: Server): Promise<void> {
  return new Promise((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });
}

export async function startController(config: ControllerConfig, log: Logger): Promise<RunningController> {
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const td = parseTrustDomain(config.trustDomain);
  const registry = new Registry();
  registerBuildInfo(registry);
  registry.setDefaultLabels({ region: config.region, component: 'controller' });
  registerProcessMetrics(registry);
  const events = new Counter({ name: 'entente_controller_events_total', help: 'Controller events by kind', labelNames: ['event'], registers: [registry] });
  const count = (event: string): void => events.inc({ event });
  // Replicas (region.yaml `etcd`) share the CA, tokens, nodes and the leader's views through etcd; loaded only then.
  const started = config.etcd
    ? await (await import('./replication/start-replica.js')).startReplica(config.etcd, config.region, join(dataDir, 'ca'), td, { svidTtlMs: config.svidTtl }, log, count)
    : undefined;
  const replica = started?.replica;
  const ca = started?.ca ?? (await LocalCa.loadOrCreate(join(dataDir, 'ca'), td, { svidTtlMs: config.svidTtl }));
  /** Whether this controller makes the region-wide decisions: always without replicas, the elected one with them. */
  const leads = (): boolean => replica === undefined || replica.isLeader();
  let ownBundle = toWireBundle(ca.bundle());
  // Operators hand bundle.json to peer regions as their bootstrap bundle, and ca.pem (the same
  // authorities as PEM) to agents that enroll by Kubernetes token (controllerCaFile).
  const writeBundleFile = (): void => {
    writeFileAtomicSync(join(dataDir, 'bundle.json'), bundleToJson(ca.bundle(), 1), 0o644);
    writeFileAtomicSync(join(dataDir, 'ca.pem'), ca.bundle().x509Authorities.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''), 0o644);
  };
  writeBundleFile();
  const adminCredential = randomBytes(24).toString('base64url');
  const adminCredentialPath = join(dataDir, 'admin.token');
  writeFileAtomicSync(adminCredentialPath, `${adminCredential}\n`, 0o600);

  const tokens: JoinTokens = replica?.tokens ?? new JoinTokenStore(join(dataDir, 'tokens.json'));
  let recompute: () => void = () => undefined;
  // Bound once the resource store exists; its onChange may fire during start(), before then.
  let refreshCommit: () => Promise<void> = async () => undefined;
  // The region's data-service probes follow the resource set in force (docs/data-routing.md).
  const nodes = new NodeRegistry(join(dataDir, 'nodes.json'), () => recompute(), log.child({ part: 'node-registry' }));
  const advertiseRefused = new Counter({
    name: 'entente_controller_advertise_refused_total',
    help: 'Config streams refused because the node advertised an address it may not claim, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Where this controller listens: as configured, then as bound (port 0 resolved). No node may advertise one.
  const listeners: SocketAddress[] = [config.listen.agents, config.listen.peers, config.listen.admin, ...(config.listen.bundleEndpoint ? [config.listen.bundleEndpoint] : [])];
  const addListener = (a: SocketAddress): void => {
    if (!listeners.some((l) => sameListener(l, a, () => false))) listeners.push(a);
  };
  const federation = new FederationState({
    dir: join(dataDir, 'federation'), ownRegion: config.region, peers: config.peers, staleAfterMs: config.federation.staleAfter, expireAfterMs: config.federation.expireAfter,
  });
  // What this region's gateways measure of the paths to peers: relays and data members' distances are chosen from it.
  const linkReports = new LinkReports();
  // The region's data-service probes, with other regions' members from their signed states (docs/data-routing.md).
  const dataProbes = new DataProbes({
    region: config.region,
    log: log.child({ part: 'data-probes' }),
    registry,
    onDecisionChange: () => recompute(),
    // Federation delays what we hear of another region's members by up to a pull and a summary refresh.
    remoteGraceMs: config.federation.pullInterval + SUMMARY_REFRESH_MS,
    remote: () => {
      const rtt = new Map(linkReports.summary().map((l) => [l.region, l.reachable ? l.rttMs : undefined]));
      return federation.remoteRegions().flatMap((r) => {
        const st = r.expired ? undefined : federation.stateOf(r.region);
        if (!st?.dataMembers || st.dataMembers.length === 0) return [];
        const rttMs = rtt.get(r.region);
        return [{ region: r.region, version: st.version, ...(rttMs !== undefined ? { rttMs } : {}), members: st.dataMembers, exportedServices: st.exportedServices }];
      });
    },
  });
  const policyRejected = new Counter({
    name: 'entente_controller_policy_rejected_total',
    help: 'Policy directory loads refused (the last good set stays in force), by error code',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Kubernetes as a second source of resources (loaded only when configured: client-node is large).
  let sourceChanged = (): void => undefined;
  const kubeParts = config.kubernetes ? await startKubernetesSource(config.kubernetes, log.child({ part: 'kubernetes' }), registry, () => sourceChanged(), nodes) : undefined;
  const kube = kubeParts?.source;
  // The last good set survives restarts: a directory broken at start changes nothing in force.
  const resources = new ResourceStore({
    ...(kube ? { source: kube } : {}),
    dir: resolve(config.resources),
    log: log.child({ part: 'resources' }),
    lastGood: new LastGoodFile(join(dataDir, 'resources-last-good.json')),
    onChange: () => {
      publishResources();
      recompute();
      void refreshCommit();
      if (leads()) dataProbes.configure(resources.snapshot().resources);
    },
    onRejected: (errors) => {
      for (const code of new Set(errors.map((e) => e.code))) policyRejected.inc({ reason: code });
    },
  });
  sourceChanged = () => resources.sourceChanged();
  await resources.start();
  if (leads()) dataProbes.configure(resources.snapshot().resources);
  const resourceStatus = resources.status();
  if (!resourceStatus.ok) {
    log.error(
      { errors: resourceStatus.errors.map((e) => e.message), generation: resourceStatus.inForce.generation, digest: resourceStatus.inForce.digest, source: resourceStatus.inForce.source },
      resourceStatus.inForce.source === 'none'
        ? `${resourceStatus.summary}; no config is pushed to nodes (they keep serving from their caches) and no region state is published until the directory loads`
        : resourceStatus.summary,
    );
  }
  /**
   * The resource set in force: this controller's own, or (a replica that does
   * not lead) the leader's, from etcd, so that SVIDs and status follow the
   * config the nodes get.
   */
  const inForce = (): { resources: ResourceSet; digest: string } => (leads() ? resources.snapshot() : (replica?.resources() ?? resources.snapshot()));
  /** A set is in force (loaded now or restored from disk): only then are configs pushed and the region state published. */
  const policyInForce = (): boolean => (leads() ? resources.status().inForce.source !== 'none' : replica?.resources() !== undefined);
  /** The leader publishes its set for the other replicas. */
  function publishResources(): void {
    if (!replica?.isLeader()) return;
    const st = resources.status();
    if (st.inForce.source === 'none') return;
    const snap = resources.snapshot();
    replica.publishResources({ resources: snap.resources, digest: snap.digest, generation: st.inForce.generation, loadedAt: st.inForce.loadedAt ?? Date.now() });
  }

  // The commit is published only while the directory is what is in force: a broken checkout
  // serves the last good set, whose commit we do not know. Polled too: a commit of unchanged files changes no digest.
  let policyCommit: string | undefined;
  refreshCommit = async (): Promise<void> => {
    const st = resources.status();
    const commit = st.ok && st.inForce.source === 'directory' ? await resourceCommit(resolve(config.resources)) : undefined;
    if (commit !== policyCommit) {
      policyCommit = commit;
      recompute();
    }
  };
  await refreshCommit();
  const commitTimer = setInterval(() => void refreshCommit(), 10_000);
  commitTimer.unref();
  let policyMemo: { digest: string; value: PolicyDigests } | undefined;
  const policyOf = (set: ResourceSet, digest: string): PolicyDigests => {
    if (policyMemo?.digest !== digest) policyMemo = { digest, value: policyDigests(set) };
    return policyMemo.value;
  };
  const policyOfSnapshot = (): PolicyDigests => {
    const snap = inForce();
    return policyOf(snap.resources, snap.digest);
  };

  const serving = new ServingIdentity(ca, Math.min(config.svidTtl, 3_600_000));
  await serving.start();

  const peerBundles = (): Record<string, WireBundle> => {
    const out: Record<string, WireBundle> = {};
    for (const p of config.peers) {
      // Only bundles that arrived in a state signed by the previous bundle (or the operator's file).
      const doc = federation.anchorDocument(p.region);
      if (doc) out[p.trustDomain] = doc;
    }
    return out;
  };
  const peerRegions = new Set(config.peers.map((p) => p.region));
  const relayFor = config.peers.map((p) => p.region).filter((r) => listed(config.federation.relay.serve, r));
  const remoteRegions = (links = linkReports.summary()) => withPaths(federation.remoteRegions(), links, (region) => federation.stateOf(region), config.federation.relay.via);
  const anycastWatch = new AnycastWatch(config.anycast?.statusUrls ?? [], config.anycast?.pollInterval ?? 2000, () => recompute());
  const inputs = (): ViewInputs => {
    const snap = inForce();
    const all = nodes.all();
    const links = linkReports.summary();
    return {
      region: config.region,
      trustDomain: td,
      ...(config.zone !== undefined ? { zone: config.zone } : {}),
      resources: snap.resources,
      policyDigest: snap.digest,
      policy: policyOf(snap.resources, snap.digest),
      policyCommit,
      nodes: all,
      connectedGateways: all.filter((n) => n.kind === 'gateway' && nodes.isConnected(n.node)),
      ownBundle,
      peerBundles: peerBundles(),
      remoteRegions: remoteRegions(links),
      anycast: anycastWatch.current(),
      controllerAddresses: listeners.filter((l) => l.port !== 0).map(formatSocketAddress),
      links,
      relayFor,
      dataRoutes: dataProbes.wire(),
      dataMembers: dataProbes.regionSummary(),
    };
  };

  // Versioned views: bumped only when their content changes; the config's version is persisted (it only grows).
  // undefined while no resource set is in force: nodes keep their cached config rather than receive an empty one.
  const configVersion = new ConfigVersion(join(dataDir, 'config-version.json'), log.child({ part: 'config-version' }));
  // Replicas push the config the leader published (one version per content, region-wide), never their own.
  const initialBodyJson = JSON.stringify(buildMeshConfigBody(inputs()));
  let meshConfig: MeshConfig | undefined = replica ? replica.meshConfig() : policyInForce() ? { version: configVersion.versionFor(initialBodyJson), ...buildMeshConfigBody(inputs()) } : undefined;
  let meshBodyJson = meshConfig && !replica ? initialBodyJson : undefined;
  let regionBody = buildRegionStateBody(inputs());
  let regionState: RegionState = { version: Date.now(), generatedAt: new Date().toISOString(), ...regionBody };
  const configListeners = new Set<(c: MeshConfig) => void>();
  let peerApiRefresh: () => void = () => undefined;
  // Peers get our state only as signed by our CA: relays cannot alter it, and its signing time is its age.
  // One signing key serves a few minutes of re-signs, so peers verify its chain once (SignerCache).
  const signState = regionStateSigner(ca);
  // One signer per term of leadership (a replica signs only while it leads; a stopped signer stays stopped).
  const newSigner = (): StateSigner => new StateSigner({
    current: () => regionState,
    sign: (s) => signState(s),
    resignIntervalMs: config.federation.resignInterval ?? Math.max(1000, Math.min(config.federation.staleAfter / 3, 10_000)),
    log: log.child({ part: 'state-signer' }),
    // Into the peers' change feed: each new signature of ours is one change, pulled as a delta.
    // Replicas that do not lead serve the leader's signature, from etcd.
    onSigned: (jws) => {
      if (!leads()) return;
      federation.putOwn(jws);
      replica?.publishRegionState(jws);
    },
  });
  let signer = newSigner();
  let signing = false;
  const startSigning = async (): Promise<void> => {
    if (signing || !policyInForce() || !leads()) return;
    signing = true;
    await signer.start();
  };
  /** A replica that no longer leads stops signing (and leaves the CA and the data probes to the new leader). */
  const stopSigning = (): void => {
    signer.stop();
    signer = newSigner();
    signing = false;
  };
  recompute = () => {
    if (!policyInForce()) return;
    const v = inputs();
    if (replica) {
      if (replica.isLeader()) replica.publishMeshConfig(JSON.stringify(buildMeshConfigBody(v)), configVersion.lastIssued());
    } else {
      const body = buildMeshConfigBody(v);
      const json = JSON.stringify(body);
      if (json !== meshBodyJson) {
        meshBodyJson = json;
        const c: MeshConfig = { version: configVersion.versionFor(json), ...body };
        meshConfig = c;
        for (const l of configListeners) l(c);
        peerApiRefresh();
      }
    }
    const rb = buildRegionStateBody(v);
    if (JSON.stringify(rb) !== JSON.stringify(regionBody)) {
      regionBody = rb;
      regionState = { version: Math.max(regionState.version + 1, Date.now()), generatedAt: new Date().toISOString(), ...rb };
      if (signing) void signer.changed();
    }
    void startSigning();
  };

  const agentApi = await startAgentApi(
    {
      region: config.region,
      ca,
      serving,
      tokens,
      nodes,
      ...(kubeParts?.enrollment ? { kubernetesEnrollment: kubeParts.enrollment } : {}),
      svidTtlMs: config.svidTtl,
      resources: () => inForce().resources,
      meshConfig: () => meshConfig,
      onConfig: (l) => {
        configListeners.add(l);
        return () => configListeners.delete(l);
      },
      controllerListeners: () => listeners,
      log: log.child({ part: 'agent-api' }),
      count,
      countAdvertiseRefused: (reason) => advertiseRefused.inc({ reason }),
      reportFlows: (node, batch) => regionFlows.report(node, batch),
      reportLinks: (gateway, report) => {
        // Replicas: the leader chooses relays from every gateway's report, whichever replica it came through.
        replica?.putLinkReport(gateway, report);
        if (linkReports.put(gateway, report, peerRegions)) recompute();
      },
    },
    config.listen.agents,
  );

  const credentials = (): { key: string; cert: string } => serving.current();
  const regionFlows = new RegionFlows({
    region: config.region,
    capacity: config.flows.capacity,
    peers: config.peers,
    credentials,
    authoritiesOf: (region) => federation.anchor(region)?.x509Authorities,
    registry,
    log: log.child({ part: 'flows' }),
  });
  const peerApi = await startPeerApi(
    {
      peerBundles,
      credentials,
      // Ours and every verified state we hold: peers that cannot reach a region still hear from it (relay).
      // A peer that sends its last cursor gets only the states that changed since.
      states: (cursor, epoch) => federation.changesSince(cursor, epoch),
      ...(config.flows.shareWithPeers ? { flows: (q: FlowFilter) => regionFlows.local(q) } : {}),
      log: log.child({ part: 'peer-api' }),
      count,
    },
    config.listen.peers,
  );
  peerApiRefresh = () => peerApi.refreshTrust();
  serving.onRenew(() => peerApi.refreshTrust());
  // Peers keep our previous state (stale, routes kept) rather than hear of a region with no services.
  await startSigning();

  const peerSync = new PeerSync({
    peers: config.peers,
    state: federation,
    intervalMs: config.federation.pullInterval,
    ownRegion: config.region,
    fanout: config.federation.fanout,
    credentials,
    log: log.child({ part: 'peer-sync' }),
    onAccepted: () => recompute(),
    count,
  });
  peerSync.start();
  anycastWatch.start();
  // Peers that publish a SPIFFE bundle endpoint (Entente or SPIRE): their bundles follow it.
  const bundlePoller = new BundlePoller({
    peers: config.peers,
    state: federation,
    ...(config.federation.bundlePollInterval !== undefined ? { intervalMs: config.federation.bundlePollInterval } : {}),
    log: log.child({ part: 'bundle-poller' }),
    onAccepted: () => recompute(),
  });
  bundlePoller.start();
  const bundleEndpoint = config.listen.bundleEndpoint
    ? await startBundleEndpointServer({ bundle: () => ca.bundle(), credentials, count }, config.listen.bundleEndpoint)
    : undefined;
  if (bundleEndpoint) serving.onRenew(() => bundleEndpoint.refresh());
  // CA rotation: publish the next key well before it signs; agents and peers get the new bundle. Replicas: the leader only.
  const startCaMaintenance = (): (() => void) => ca.startMaintenance(60_000, (err) => log.error({ err: String(err) }, 'CA maintenance failed'));
  let stopCaMaintenance: () => void = leads() ? startCaMaintenance() : () => undefined;
  const unsubscribeBundle = ca.onBundleChange(() => {
    ownBundle = toWireBundle(ca.bundle());
    writeBundleFile();
    log.info('trust bundle changed (CA rotation); publishing it');
    if (replica?.isLeader()) void started!.publishCa().catch((err: unknown) => log.error({ err: describeError(err) }, 'could not publish the rotated CA to etcd; retried at the next change'));
    recompute();
  });
  // Staleness is a function of time: re-evaluate it even when nothing arrives.
  const staleTimer = setInterval(() => recompute(), Math.max(500, Math.min(config.federation.staleAfter / 4, 5000)));

  // Set at scrape (prom-client calls collect() on every /metrics read), so they are current without a /v1/status read.
  new Gauge({
    name: 'entente_federation_peer_reachable',
    help: '1 when the peer region answered the last pull',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      for (const p of peerSync.status()) this.set({ peer: p.region }, p.reachable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'entente_controller_nodes_connected',
    help: 'Nodes with an open config stream',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const kind of ['agent', 'gateway'] as const) this.set({ kind }, nodes.all().filter((n) => n.kind === kind && nodes.isConnected(n.node)).length);
    },
  });

  const health = () => {
    const v = inputs();
    // Only the exported Services this region runs: the others are declared here (names are mesh-wide) but served elsewhere.
    const exported = exportedServices(v.resources);
    const connectedAgentNodes = new Set(v.nodes.filter((n) => n.kind === 'agent' && nodes.isConnected(n.node)).map((n) => n.node));
    const healthyServices = exported.filter((s) => s.endpoints.some((w) => connectedAgentNodes.has(w.node)));
    const totalGateways = v.nodes.filter((n) => n.kind === 'gateway').length;
    return {
      region: config.region,
      healthy: v.connectedGateways.length > 0 && healthyServices.length === exported.length,
      gateways: { healthy: v.connectedGateways.length, total: totalGateways },
      exportedServices: { healthy: healthyServices.length, total: exported.length },
    };
  };

  /** The policy part of /v1/status and of the reload answer: what is served, and why it is older than the directory when it is. */
  const policyView = (rs: ResourceStoreStatus) => ({
    digest: rs.inForce.digest,
    // What peers compare for drift (policy resources only), and the checkout's commit when the directory is one.
    policyDigest: policyOfSnapshot().digest,
    commit: policyCommit,
    generation: rs.inForce.generation,
    source: rs.inForce.source,
    loadedAt: rs.inForce.loadedAt ? new Date(rs.inForce.loadedAt).toISOString() : undefined,
    ok: rs.ok,
    stale: rs.stale,
    summary: rs.summary,
    errors: rs.errors,
    lastGoodAt: rs.lastGoodAt ? new Date(rs.lastGoodAt).toISOString() : undefined,
    lastAttemptAt: rs.lastAttemptAt ? new Date(rs.lastAttemptAt).toISOString() : undefined,
    configPushed: meshConfig !== undefined,
    configVersion: meshConfig?.version,
  });

  /** Policy drift between this region and every configured peer, from the signed states we hold. */
  const drift = () => {
    const own = policyOfSnapshot();
    const remotes = federation.remoteRegions();
    return computeDrift([
      { region: config.region, resources: own.resources, digest: own.digest, commit: policyCommit },
      ...config.peers.map((p) => {
        const st = federation.stateOf(p.region);
        const remote = remotes.find((r) => r.region === p.region);
        return { region: p.region, resources: st?.policyDigests, digest: st?.policyDigest, commit: st?.policyCommit, ageMs: remote && remote.ageMs >= 0 ? remote.ageMs : undefined, stale: remote?.stale };
      }),
    ]);
  };

  const status = () => {
    const rs = resources.status();
    const paths = remoteRegions();
    return {
      region: config.region,
      trustDomain: td,
      version: ENTENTE_VERSION,
      configVersion: meshConfig?.version,
      // Replicas: this one's name, the leader's, and whether etcd answers (docs/operations.md "Controller replicas").
      replication: replica?.status(),
      anycast: anycastWatch.current(),
      regionStateVersion: regionState.version,
      health: health(),
      policy: policyView(rs),
      nodes: nodes.all().map((n) => ({ ...n, connected: nodes.isConnected(n.node) })),
      links: { summary: linkReports.summary(), gateways: linkReports.gateways(), relayFor },
      services: meshConfig?.services ?? [],
      workloads: meshConfig?.workloads ?? [],
      peers: peerSync.status().map((p) => {
        const remote = paths.find((r) => r.region === p.region);
        const held = federation.heldOf(p.region);
        const st = held?.state;
        return {
          ...p,
          stale: remote?.stale ?? true,
          ageMs: remote?.ageMs,
          version: st?.version,
          // Where the newest state came from: the region itself, or the peer that relayed it.
          via: held?.via,
          signedAt: held ? new Date(held.signedAt).toISOString() : undefined,
          bundleSequence: federation.anchor(p.region)?.sequence?.toString(),
          bundleEndpoint: bundlePoller.status(p.region),
          policyDigest: st?.policyDigest,
          policyCommit: st?.policyCommit,
          expired: remote?.expired ?? false,
          // This region's gateways' probes of the direct path, and the regions that could relay to it.
          link: remote?.reachable === undefined ? undefined : { reachable: remote.reachable, rttMs: remote.rttMs, loss: remote.loss },
          relays: remote?.relays ?? [],
          relayFor: st?.relayFor,
          anycast: st?.anycast,
          exportedServices: st?.exportedServices.map((s) => `${s.namespace}/${s.name}`) ?? [],
        };
      }),
      data: dataProbes.view(),
      expiry: expiryReport({
        region: config.region,
        caCerts: ca.bundle().x509Authorities,
        servingCert: serving.current().cert,
        peerBundles: config.peers.map((p) => ({ region: p.region, authorities: federation.anchor(p.region)?.x509Authorities ?? [] })),
      }),
    };
  };

  const slo: SloConfig = {
    availability: config.slo.availability,
    latencyP99Ms: config.slo.latencyP99,
    services: Object.fromEntries(Object.entries(config.slo.services).map(([k, v]) => [k, { ...(v.availability !== undefined ? { availability: v.availability } : {}), ...(v.latencyP99 !== undefined ? { latencyP99Ms: v.latencyP99 } : {}) }])),
  };
  // Dashboards poll every few seconds: one answer per window a second serves them all, and peers are asked once.
  const serviceMaps = new Map<number, { at: number; answer: Promise<unknown> }>();
  const serviceMap = (windowMs: number): Promise<unknown> => {
    const now = Date.now();
    const cached = serviceMaps.get(windowMs);
    if (cached && now - cached.at < 1000) return cached.answer;
    const answer = regionFlows.query({ since: now - windowMs, limit: FLOW_LIMIT_MAX, local: false }).then((a) => ({ region: config.region, generatedAt: a.generatedAt, regions: a.regions, ...buildServiceMap(a.flows, a.generatedAt, windowMs, slo) }));
    serviceMaps.set(windowMs, { at: now, answer });
    return answer;
  };
  const dashboard = loadDashboardAssets();
  if (!dashboard.available) log.warn({}, 'dashboard files not found (dist/dashboard): /dashboard/ answers 404; run npm run build');

  const adminApi = await startAdminApi(
    {
      credential: adminCredential,
      status,
      drift,
      flows: (q) => regionFlows.query(q),
      serviceMap,
      dashboard,
      health,
      createToken: (node, kind, ttlMs, addresses) => tokens.create(node, kind, ttlMs ?? config.joinTokenTtl, ca.caCertPem, addresses),
      reloadResources: async () => policyView(await resources.reload()),
      registry,
      log: log.child({ part: 'admin' }),
    },
    config.listen.admin,
  );
  for (const s of [agentApi, peerApi, adminApi, ...(bundleEndpoint ? [bundleEndpoint] : [])]) addListener(boundAddress(s));
  if (started) {
    await followReplica(started, {
      log,
      count,
      nodes,
      federation,
      linkReports,
      peerRegions,
      recompute: () => recompute(),
      config: (c) => {
        meshConfig = c;
        for (const l of configListeners) l(c);
        peerApiRefresh();
      },
      leadership: async (leading) => {
        if (!leading) {
          stopCaMaintenance();
          stopCaMaintenance = () => undefined;
          stopSigning();
          dataProbes.configure(buildResourceSet([]));
          recompute();
          return;
        }
        // A new leader first catches up with the CA, then takes over rotation, probes, the views and signing.
        const sealed = await started.replica.readCa().catch(() => undefined);
        if (sealed !== undefined) await started.followCa(sealed).catch((err: unknown) => log.error({ err: describeError(err) }, 'could not adopt the CA held in etcd'));
        if (!replica!.isLeader()) return;
        // Peers keep the highest version of a region's state: ours must be above every one the previous leader signed.
        const last = replica!.regionState();
        const floor = last === undefined ? 0 : (signedStateVersion(last, started) ?? 0);
        regionState = { ...regionState, version: Math.max(regionState.version + 1, floor + 1, Date.now()), generatedAt: new Date().toISOString() };
        stopCaMaintenance = startCaMaintenance();
        dataProbes.configure(resources.snapshot().resources);
        publishResources();
        recompute();
        await startSigning();
      },
    });
  }
  recompute();
  log.info({ trustDomain: td, agents: config.listen.agents, peers: config.listen.peers, admin: config.listen.admin, bundleEndpoint: config.listen.bundleEndpoint }, 'controller serving');

  return {
    config,
    adminCredentialPath,
    addresses: { agents: boundAddress(agentApi), peers: boundAddress(peerApi), admin: boundAddress(adminApi) },
    async close() {
      clearInterval(staleTimer);
      clearInterval(commitTimer);
      anycastWatch.stop();
      stopCaMaintenance();
      unsubscribeBundle();
      await replica?.stop();
      peerSync.stop();
      bundlePoller.stop();
      signer.stop();
      serving.stop();
      dataProbes.stop();
      await resources.close();
      await kube?.stop();
      await Promise.all([closeServer(agentApi), closeServer(peerApi), closeServer(adminApi), bundleEndpoint ? closeServer(bundleEndpoint) : undefined]);
    },
  };
}

/** Reads the admin credential a controller wrote (for `entente token create`). */
export function readAdminCredential(dataDir: string): string {
  return readFileSync(join(resolve(dataDir), 'admin.token'), 'utf8').trim();
}
