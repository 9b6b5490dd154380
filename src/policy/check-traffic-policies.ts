// Cross-resource checks of TrafficPolicies against the Services of one
// resource set: the Service must be declared, listed ports must be its ports,
// and at most one policy may govern a (service, port). Pure; the loader locates errors.
import type { Service, TrafficPolicy } from './resources.js';
import { resourceRef } from './resources.js';
import type { PolicyOrigin } from './check-policy-targets.js';
import { unknownServiceExpectation } from './check-policy-targets.js';
import type { PathSegment, ResourceError, ResourceErrorInit } from './resource-error.js';
import { makeResourceError } from './resource-error.js';

export interface TrafficPolicyInputs {
  /** In the order found (file, document): of two overlapping policies the later one is reported. */
  readonly policies: readonly { readonly policy: TrafficPolicy; readonly origin: PolicyOrigin }[];
  /** Every Service declared, valid or not, by namespace. */
  readonly declaredServices: ReadonlyMap<string, readonly string[]>;
  /** The Services that validated, keyed "namespace/name". */
  readonly services: ReadonlyMap<string, Service>;
}

interface Claim {
  readonly policy: TrafficPolicy;
  readonly origin: PolicyOrigin;
  /** undefined: every port of the Service. */
  readonly ports: readonly number[] | undefined;
}

export function checkTrafficPolicies(inputs: TrafficPolicyInputs): ResourceError[] {
  const errors: ResourceError[] = [];
  const claims = new Map<string, Claim[]>();
  for (const { policy, origin } of inputs.policies) {
    const ns = policy.metadata.namespace;
    const name = policy.spec.service;
    const at = (path: PathSegment[], value: unknown, code: ResourceErrorInit['code'], expected: string): ResourceError =>
      makeResourceError({ file: origin.file, document: origin.document, path, line: origin.lineOf(path), resource: resourceRef(policy), code, value, expected });
    if (!(inputs.declaredServices.get(ns) ?? []).includes(name)) {
      // Names are mesh-wide: a TrafficPolicy for a Service this region runs nowhere is fine, an undeclared one is a typo.
      errors.push(at(['spec', 'service'], name, 'UNKNOWN_SERVICE',
        `${unknownServiceExpectation(inputs.declaredServices, ns)}; Service names are mesh-wide: the shared policy tree declares every Service of the mesh, also those this region's agents only call`));
      continue;
    }
    const service = inputs.services.get(`${ns}/${name}`);
    if (service) {
      const own = service.spec.ports.map((p) => p.port);
      policy.spec.ports?.forEach((p, i) => {
        if (!own.includes(p)) errors.push(at(['spec', 'ports', i], p, 'UNKNOWN_PORT', `a port of ${resourceRef(service)} (it has ${own.join(', ')}; ports are Service ports, not target ports)`));
      });
    }
    const key = `${ns}/${name}`;
    const mine: Claim = { policy, origin, ports: policy.spec.ports };
    const earlier = claims.get(key) ?? [];
    const other = earlier.find((c) => overlap(c.ports, mine.ports) !== undefined);
    if (other) {
      const shared = overlap(other.ports, mine.ports)!;
      const where = shared === 'all' ? 'every port' : `port${shared.length > 1 ? 's' : ''} ${shared.join(', ')}`;
      errors.push(at(policy.spec.ports ? ['spec', 'ports'] : ['spec', 'service'], policy.spec.ports ?? name, 'OVERLAPPING_TRAFFIC_POLICY',
        `a (service, port) no other TrafficPolicy selects: ${resourceRef(other.policy)} (${other.origin.file} document ${other.origin.document}) already selects ${where} of Service ${key}; at most one TrafficPolicy may govern a Service port, so merge them or give each its own ports`));
      continue;
    }
    claims.set(key, [...earlier, mine]);
  }
  return errors;
}

/** The ports both select ('all': both select every port), or undefined when they are disjoint. */
function overlap(a: readonly number[] | undefined, b: readonly number[] | undefined): readonly number[] | 'all' | undefined {
  if (a === undefined && b === undefined) return 'all';
  const shared = a === undefined ? b! : b === undefined ? a : a.filter((p) => b.includes(p));
  return shared.length > 0 ? shared : undefined;
}
