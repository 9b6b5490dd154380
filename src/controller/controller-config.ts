// region.yaml: the controller's configuration, checked whole at start-up.
import * as z from 'zod';
import { WHEN_MAPPING, checkListeners, zAddress, zDnsLabel, zDurationMs, zHttpsUrl, zTrustDomainName } from '../core/config-types.js';

const SERVICE_ACCOUNT_TEXT = 'a service account as "namespace/name", e.g. "entente-system/entente-agent"';
const SERVICE_ACCOUNT_LIST_TEXT = 'a list of at least one service account, each as "namespace/name", e.g. ["entente-system/entente-agent"]';
// A namespace is a DNS label, an account name a DNS subdomain: what the API server allows, and what a TokenReview's username carries.
const zServiceAccount = z.string({ error: SERVICE_ACCOUNT_TEXT }).regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, SERVICE_ACCOUNT_TEXT);

const zRelayEntry = z.union([z.literal('*'), zDnsLabel]);

const peerSchema = z.strictObject({
  region: zDnsLabel,
  trustDomain: zTrustDomainName,
  /**
   * The peer controller's federation endpoint. Omit it for a region this
   * controller cannot reach directly: its signed state then arrives only
   * through other peers (relay), verified against this entry's bundle.
   */
  url: zHttpsUrl.optional(),
  /** Operator-supplied bootstrap bundle (SPIFFE bundle JSON) of the peer's trust domain. */
  bundle: z.string({ error: 'a path to the peer bundle file' }).min(1, 'a path to the peer bundle file'),
  /** Dial the peer's gateways here instead of the address they advertise (NAT, private link, the lab's WAN link). */
  gatewayAddress: zAddress.optional(),
  /**
   * A SPIFFE Federation bundle endpoint (https_spiffe profile) of the peer's
   * trust domain — another Entente controller's `listen.bundleEndpoint`, or
   * SPIRE's. Polled for the peer's newest bundle, authenticated as `spiffeId`
   * against the bundle we hold.
   */
  bundleEndpoint: z
    .strictObject({
      url: zHttpsUrl,
      spiffeId: z.string().regex(/^spiffe:\/\/[a-z0-9._-]+\/\S*$/, 'the endpoint server SPIFFE ID, e.g. "spiffe://eu.example.org/controller"'),
    })
    .optional(),
});

export const controllerConfigSchema = z.strictObject({
  region: zDnsLabel,
  trustDomain: zTrustDomainName,
  zone: zDnsLabel.optional(),
  dataDir: z.string({ error: 'a directory path' }).min(1, 'a directory path'),
  /** Directory of Service / Workload / AuthorizationPolicy YAML resources (a Git checkout). */
  resources: z.string({ error: 'a directory path' }).min(1, 'a directory path'),
  /**
   * Also read resources from a Kubernetes cluster (docs/deploy.md "Kubernetes"):
   * Services, EndpointSlices, Pods, ServiceAccounts and Entente's CRDs. Present: on.
   */
  kubernetes: z
    .strictObject({
      /** A kubeconfig file; absent: the pod's own service account (in-cluster). */
      kubeconfig: z.string({ error: 'a file path' }).min(1, 'a file path').optional(),
      /** How long the first load waits for every collection to be listed before it starts without them. */
      syncTimeout: zDurationMs.default(30_000),
      /**
       * Agents may enroll with their projected service-account token instead
       * of a join token (a DaemonSet): the API server reviews it (TokenReview).
       * Absent: that way is off. Gateways always need join tokens.
       */
      agentAttestation: z
        .strictObject({
          /** The audience the agents' projected tokens are bound to (serviceAccountToken.audience). */
          audience: z.string({ error: 'a token audience such as "entente"' }).min(1, 'a token audience such as "entente"').max(256, 'at most 256 characters').default('entente'),
          /** The agents' service accounts: a token of any other account enrolls nothing. */
          serviceAccounts: z.array(zServiceAccount, { error: SERVICE_ACCOUNT_LIST_TEXT }).min(1, SERVICE_ACCOUNT_LIST_TEXT),
        })
        .optional(),
    })
    .optional(),
  /**
   * Run as one of several replicas of this region's controller, sharing state
   * through etcd (docs/operations.md "Controller replicas"). Absent: one
   * controller with its state in dataDir (the default).
   */
  etcd: z
    .strictObject({
      /** etcd client URLs; the client moves between them. */
      endpoints: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an etcd client URL such as "https://10.0.0.5:2379"')).min(1, 'at least one etcd endpoint'),
      /** Key prefix of this region's state; two regions must never share one. Default "/entente/<region>". */
      prefix: z.string().regex(/^\/[A-Za-z0-9._/-]*[^/]$/, 'a key prefix such as "/entente/eu" (starts with "/", no trailing "/")').optional(),
      /** This replica's name (unique in the region): in leader records, presence keys and logs. */
      replica: zDnsLabel,
      /**
       * 32 random bytes, base64 (`head -c 32 /dev/urandom | base64`), the same file on every replica:
       * the CA key is stored in etcd encrypted with it, so etcd alone does not reveal the CA key.
       */
      stateKeyFile: z.string({ error: 'a file path' }).min(1, 'a file path'),
      /** Leader and presence lease: a dead leader is replaced after about this long. */
      leaseTtl: zDurationMs.default(5000).refine((ms) => ms >= 2000 && ms <= 60_000, 'between "2s" and "60s"'),
      /** TLS to etcd (mutual when certFile and keyFile are set). */
      tls: z
        .strictObject({
          caFile: z.string().min(1, 'a file path').optional(),
          certFile: z.string().min(1, 'a file path').optional(),
          keyFile: z.string().min(1, 'a file path').optional(),
        })
        .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), 'certFile and keyFile go together')
        .optional(),
      /** etcd user (RBAC): the password is read from passwordFile. */
      auth: z.strictObject({ username: z.string().min(1), passwordFile: z.string().min(1, 'a file path') }).optional(),
    })
    .optional(),
  listen: z.strictObject({
    agents: zAddress,
    peers: zAddress,
    admin: zAddress.default({ host: '127.0.0.1', port: 15000 }),
    /** Serve this region's bundle here as a SPIFFE Federation bundle endpoint (https_spiffe, no client certificate). */
    bundleEndpoint: zAddress.optional(),
  }),
  svidTtl: zDurationMs.default(3_600_000).refine((ms) => ms >= 300_000, 'at least "5m" (SVIDs shorter than that are refused)'),
  joinTokenTtl: zDurationMs.default(15 * 60_000),
  federation: z
    .strictObject({
      pullInterval: zDurationMs.default(2000),
      /** A remote region's state older than this (by its origin's signing time) is stale: kept, but demoted. */
      staleAfter: zDurationMs.default(30_000),
      /**
       * Past this age a remote region's services and gateways are removed (nothing routes there)
       * until a fresh state arrives. Default 1 h, the default SVID lifetime (docs/operations.md "Staleness").
       */
      expireAfter: zDurationMs.default(3_600_000),
      /**
       * How often this region re-signs its state even when nothing changed, so
       * peers (and peers of peers) see it is alive; default min(staleAfter / 3, 10 s).
       */
      resignInterval: zDurationMs.optional(),
      /** How often to poll peers' bundle endpoints; default: each bundle's refresh hint (SPIFFE Federation 4.1). */
      bundlePollInterval: zDurationMs.optional(),
      /**
       * Relay of traffic through a third region when a region cannot be reached
       * directly (docs/operations.md "Relay"). Lists of peer region names, "*"
       * for every peer, [] for none. Default both "*": the mTLS stays end to end
       * between the two agents, so a relaying gateway sees only encrypted bytes.
       */
      relay: z
        .strictObject({
          /** Regions this region's gateways relay connections to, for any peer that asks. */
          serve: z.array(zRelayEntry).default(['*']),
          /** Peer regions this region may send its traffic through. */
          via: z.array(zRelayEntry).default(['*']),
        })
        .default({ serve: ['*'], via: ['*'] }),
      /**
       * Pull only this many peers per interval (sparse peering) and learn the
       * others' signed states by relay; default: every peer (docs/configuration.md).
       */
      fanout: z.number().int().min(1, 'at least 1 peer per interval').optional(),
    })
    .default({ pullInterval: 2000, staleAfter: 30_000, expireAfter: 3_600_000, relay: { serve: ['*'], via: ['*'] } })
    .refine((f) => f.expireAfter > f.staleAfter, { message: 'expireAfter must be longer than staleAfter (an item is demoted before it is removed)', path: ['expireAfter'] }),
  peers: z.array(peerSchema).default([]),
  /** The region's flow history, fed by its agents (docs/observability.md "Flows"). */
  flows: z
    .strictObject({
      /** Flows kept (newest), for the whole region. */
      capacity: z.number().int().min(100).max(1_000_000).default(10_000),
      /** Answer peer controllers' requests for this region's flows (`entente flows` in another region). */
      shareWithPeers: z.boolean().default(true),
    })
    .default({ capacity: 10_000, shareWithPeers: true }),
  /** Service level objectives the dashboard judges each route against (docs/observability.md "Dashboard"). */
  slo: z
    .strictObject({
      /** Share of calls that must not fail (verdict error); denials by policy do not count against it. */
      availability: z.number().min(0, 'a share from 0 to 1, e.g. 0.999').max(1, 'a share from 0 to 1, e.g. 0.999').default(0.99),
      /** p99 latency bound. */
      latencyP99: zDurationMs.default(1000),
      /** Per destination service, "namespace/name": either bound, the other from above. */
      services: z
        .record(
          z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a service as "namespace/name"'),
          z.strictObject({ availability: z.number().min(0).max(1).optional(), latencyP99: zDurationMs.optional() }),
        )
        .default({}),
    })
    .default({ availability: 0.99, latencyP99: 1000, services: {} }),
  /** The region's anycast announcers (`entente anycast`): their state is carried in the region state. */
  anycast: z
    .strictObject({
      statusUrls: z.array(z.string().regex(/^http:\/\/\S+$/, 'an http:// URL of an announcer status endpoint, e.g. "http://127.0.0.1:15180/status"')).min(1),
      pollInterval: zDurationMs.default(2000),
    })
    .optional(),
}).superRefine((c, ctx) => {
  const listen = (c.listen ?? {}) as Partial<typeof c.listen>;
  // admin first: it may be the default, and the key reported should be one the file has.
  checkListeners([
    { path: ['listen', 'admin'], address: listen.admin },
    { path: ['listen', 'agents'], address: listen.agents },
    { path: ['listen', 'peers'], address: listen.peers },
    { path: ['listen', 'bundleEndpoint'], address: listen.bundleEndpoint },
  ], ctx);
}, WHEN_MAPPING);

export type ControllerConfig = z.output<typeof controllerConfigSchema>;
export type PeerConfig = z.output<typeof peerSchema>;
