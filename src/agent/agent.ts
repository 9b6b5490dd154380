// Assembles an agent: node identity (cached or enrolled), workload SVIDs, the
// config stream from the controller, and the data plane fed with snapshots.
// Starts from its disk cache when the controller is down, and says so.
import { registerProcessMetrics } from '../core/process-metrics.js';
import { registerBuildInfo } from '../core/build-info.js';
import { createServer, type Server } from 'node:http';
import { Gauge, Registry } from 'prom-client';
import type { Logger } from '../core/log.js';
import { describeError } from '../core/errors.js';
import { formatSocketAddress } from '../core/address.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import { NodeState } from '../node/node-state.js';
import { establishNodeIdentity } from '../node/node-identity.js';
import { SvidManager } from '../node/svid-manager.js';
import { startDataplane } from './dataplane/index.js';
import { healthAnswer } from '../core/health-endpoints.js';
import { FlowHistory } from './flow-history.js';
import { FlowReporter } from './flow-reporter.js';
import type { AgentConfig } from './agent-config.js';
import { buildDataplaneSnapshot } from './build-dataplane-snapshot.js';
import type { DataplaneSnapshot } from './dataplane/dataplane-snapshot.js';
import { ConfigIntake } from '../node/config-intake.js';
import { readNodeAccounts } from './attest/node-accounts.js';

export interface RunningAgent {
  close(): Promise<void>;
}

const FLOW_HISTORY = 1000;

function emptyConfig(region: string, trustDomain: string, bundles: MeshConfig['bundles']): MeshConfig {
  return { version: 0, region, trustDomain, bundles, services: [], workloads: [], nodes: {}, remoteRegions: [], authorizationPolicies: [], policyDigest: '' };
}

export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const state = new NodeState(config.dataDir);
  const identity = await establishNodeIdentity({
    node: config.node,
    kind: 'agent',
    controllerUrls: config.controller,
    joinToken: config.joinToken,
    joinTokenFile: config.joinTokenFile,
    kubernetesTokenFile: config.kubernetesTokenFile,
    controllerCaFile: config.controllerCaFile,
    state,
    log,
  });
  const enrollment = state.enrollment()!;
  const registry = new Registry();
  registerBuildInfo(registry);
  registry.setDefaultLabels({ region: enrollment.region, node: config.node, component: 'agent' });
  registerProcessMetrics(registry);
  const svidSeconds = new Gauge({ name: 'entente_agent_svid_seconds_remaining', help: 'Seconds until the workload SVID expires', labelNames: ['workload'], registers: [registry] });
  const controllerConnected = new Gauge({ name: 'entente_agent_controller_connected', help: '1 while the config stream is open', registers: [registry] });

  const svids = new SvidManager(state, () => identity.client, log.child({ part: 'svids' }), svidSeconds);
  const ownBundle = state.ownBundle();
  const outboundPorts = config.outboundPorts.map((p) => ({ listen: p.listen, host: p.host, port: p.port }));
  // Users and groups are read for every snapshot: Workloads may name them, and accounts change.
  const snapshotContext = () => ({ node: config.node, outboundPorts, accounts: readNodeAccounts() });
  const localWorkloads = (c: MeshConfig) => c.workloads.filter((w) => w.node === config.node).map((w) => ({ namespace: w.namespace, name: w.name, serviceAccount: w.serviceAccount }));
  // Every config, from the stream or the cache: validate -> build snapshot -> swap -> persist.
  const intake = new ConfigIntake<DataplaneSnapshot>({
    component: 'agent',
    registry,
    log,
    build: (c) => ({ kind: 'ok', value: buildDataplaneSnapshot(c, snapshotContext()) }),
    swap: async (snapshot, c) => {
      configured = true;
      meshConfig = c;
      svids.setWorkloads(localWorkloads(c));
      await dataplane.setSnapshot(snapshot);
    },
    persist: (c) => state.saveConfig(c),
  });
  const cached = intake.cached(state.cachedConfigText());
  // Ready once a config is in force (the cached one counts: it serves through a controller outage).
  let configured = cached !== undefined;
  let meshConfig: MeshConfig = cached?.config ?? emptyConfig(enrollment.region, enrollment.trustDomain, ownBundle ? { [enrollment.trustDomain]: ownBundle } : {});
  if (cached) log.info({ version: meshConfig.version }, 'starting from the config cached on disk');
  svids.setWorkloads(localWorkloads(meshConfig));
  svids.start();

  const flows = new FlowHistory(FLOW_HISTORY);
  // Loaded only when configured: the OpenTelemetry packages cost an agent ~9 MB of memory it should not pay for nothing.
  const telemetry = config.telemetry ? (await import('../telemetry/agent-telemetry.js')).createAgentTelemetry(config.telemetry, { region: enrollment.region, node: config.node, dataDir: config.dataDir, registry, log }) : undefined;
  const flowReporter = new FlowReporter({ post: (body) => identity.client.post('/v1/flows', body, 5000), log: log.child({ part: 'flow-reports' }), registry });
  const dataplane = await startDataplane({
    inbound: config.listen.inbound,
    ...(config.listen.httpProxy ? { httpProxy: config.listen.httpProxy } : {}),
    snapshot: cached?.value ?? buildDataplaneSnapshot(meshConfig, snapshotContext()),
    credentials: { credentialsFor: (w) => svids.credentialsFor(w) },
    log: log.child({ part: 'dataplane' }),
    registry,
    tuning: {
      handshakeTimeoutMs: config.limits.handshakeTimeout,
      maxStreamsPerSession: config.limits.maxStreamsPerSession,
      maxConnectionsPerWorkload: config.limits.maxConnectionsPerWorkload,
    },
    onFlow: (f) => {
      flows.add(f);
      flowReporter.add(f);
      telemetry?.onFlow(f);
    },
    ...(telemetry ? { tracing: telemetry.tracing } : {}),
    attestation: { requireSelectors: config.attestation.requireSelectors },
  });

  /** Rebuilds the snapshot of the config in force (new SVIDs); a failure leaves the previous one in force. */
  const apply = (c: MeshConfig): void => {
    const fail = (err: unknown): void => log.error({ err: describeError(err), version: c.version }, 'config could not be applied; keeping the previous one');
    try {
      void Promise.resolve(dataplane.setSnapshot(buildDataplaneSnapshot(c, snapshotContext()))).catch(fail);
    } catch (err) {
      fail(err);
    }
  };
  let connected = false;
  // Our own close ends the stream too: that is no loss to warn about.
  let closing = false;
  const advertise = formatSocketAddress(config.advertise ?? dataplane.inboundAddress);
  const stream = identity.client.followConfig(
    advertise,
    (line) => void intake.offerLine(line),
    (isUp, err, url) => {
      controllerConnected.set(isUp ? 1 : 0);
      if (isUp !== connected) {
        if (isUp) log.info({ controller: url }, 'config stream connected');
        else if (!closing) log.warn({ err, svidSecondsLeft: svids.secondsLeft() }, 'config stream lost; serving from the last config');
      }
      connected = isUp;
    },
  );
  // New or renewed SVIDs: rebuild so the data plane picks up fresh credentials.
  svids.onChange(() => apply(meshConfig));

  let admin: Server | undefined;
  if (config.listen.metrics) {
    admin = createServer((req, res) => {
      const health = healthAnswer(req.url, () => {
        const missing = localWorkloads(meshConfig).filter((w) => svids.credentialsFor(w) === undefined);
        return { notReady: [...(configured ? [] : ['no config received yet']), ...(missing.length > 0 ? [`no SVID yet for ${missing.map((w) => `${w.namespace}/${w.name}`).join(', ')}`] : [])] };
      });
      if (health) {
        res.writeHead(health.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(health.body));
        return;
      }
      if (req.url === '/metrics') {
        void registry.metrics().then((m) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(m);
        });
        return;
      }
      const body =
        req.url === '/flows'
          ? flows.list()
          : req.url === '/status'
            ? {
                node: config.node,
                region: enrollment.region,
                controllerConnected: connected,
                configVersion: meshConfig.version,
                svidSecondsLeft: svids.secondsLeft(),
                workloads: localWorkloads(meshConfig).map((w) => ({ ...w, svidNotAfter: svids.credentialsFor(w)?.notAfter })),
              }
            : req.url === '/balancers'
              ? dataplane.balancing()
              : undefined;
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { error: 'try /status, /flows, /balancers, /metrics, /healthz or /readyz' }));
    });
    await new Promise<void>((resolve, reject) => {
      admin!.once('error', reject);
      admin!.listen(config.listen.metrics!.port, config.listen.metrics!.host, resolve);
    });
  }
  flowReporter.start();
  telemetry?.start();
  log.info({ inbound: advertise, httpProxy: dataplane.httpProxyAddress }, 'agent serving');

  return {
    async close() {
      closing = true;
      flowReporter.stop();
      stream.stop();
      svids.stop();
      identity.stop();
      admin?.closeAllConnections();
      admin?.close();
      await dataplane.close();
      // After the data plane: the last requests' spans are written to the queue on disk before exit.
      await telemetry?.stop();
    },
  };
}
