// The policy layer's public API: resource schemas, the directory loader, the
// last-good resource store, the pure authorization decision and the compiled
// traffic (failure handling) settings.
export {
  API_VERSION,
  AuthorizationPolicySchema,
  RESOURCE_KINDS,
  RESOURCE_SCHEMAS,
  ServiceSchema,
  TrafficPolicySchema,
  WorkloadSchema,
  isResourceKind,
  resourceRef,
  type AuthorizationPolicy,
  type AuthorizationRule,
  type Resource,
  type ResourceKind,
  type Service,
  type ServicePort,
  type TrafficPolicy,
  type Workload,
} from './resources.js';
export { formatKey, formatValue, type ResourceError, type ResourceErrorCode } from './resource-error.js';
export {
  assembleResources,
  listResourceFiles,
  loadResourceDir,
  parseResourceText,
  type LoadResult,
  type LocatedLoadResult,
  type Origin,
  type LocatedResource,
  type ParsedFile,
} from './load-resources.js';
export {
  buildResourceSet,
  canonicalJson,
  digestEachResource,
  digestResources,
  emptyResourceSet,
  type ResourceSet,
} from './resource-set.js';
export { LastGoodFile, parseSaved, type LastGoodRead, type LastGoodStore, type SavedResourceSet } from './last-good-file.js';
export {
  ResourceStore,
  type ResourceSnapshot,
  type ResourceStoreOptions,
  type InForceSource,
  type ResourceStoreStatus,
} from './resource-store.js';
export {
  authorize,
  compilePolicies,
  type AuthzDecision,
  type AuthzRequest,
  type CompiledPolicies,
} from './authorize.js';
export { normalizeRequestPath, normalizeRequestTarget, type NormalizedPath, type NormalizedTarget } from './request-path.js';
export { parseStringPattern, formatStringPattern, type StringPattern } from './string-pattern.js';
export {
  DEFAULT_TRAFFIC,
  DEFAULT_TRAFFIC_TABLE,
  IDEMPOTENT_METHODS,
  LOCALITIES,
  RETRY_ON,
  compileTrafficPolicies,
  type Locality,
  type RetryOn,
  type RetrySettings,
  type TrafficService,
  type TrafficSettings,
  type TrafficTable,
} from './traffic-policy.js';
