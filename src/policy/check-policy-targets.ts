// Cross-resource checks of AuthorizationPolicies against the Services of one
// resource set: a selector must name a declared Service, and method/path rules
// must target a Service port that speaks HTTP. Pure; the loader locates errors.
import type { AuthorizationPolicy, Service } from './resources.js';
import { resourceRef } from './resources.js';
import type { PathSegment, ResourceError, ResourceErrorInit } from './resource-error.js';
import { makeResourceError } from './resource-error.js';

/** Where a policy came from: the loader's origin of its document. */
export interface PolicyOrigin {
  readonly file: string;
  readonly document: number;
  readonly lineOf: (path: readonly PathSegment[]) => number | undefined;
}

export interface PolicyTargetInputs {
  readonly policies: readonly { readonly policy: AuthorizationPolicy; readonly origin: PolicyOrigin }[];
  /** Every Service declared, valid or not, by namespace: a broken Service is reported once, not again by each reference. */
  readonly declaredServices: ReadonlyMap<string, readonly string[]>;
  /** The Services that validated, keyed "namespace/name". */
  readonly services: ReadonlyMap<string, Service>;
}

const L7_KEYS = ['methods', 'paths', 'notPaths'] as const;

/** The "expected" text of an UNKNOWN_SERVICE error, shared with the Workload check. */
export function unknownServiceExpectation(declared: ReadonlyMap<string, readonly string[]>, ns: string): string {
  const known = [...(declared.get(ns) ?? [])].sort();
  return `the name of a Service in namespace "${ns}" (${known.length > 0 ? `defined there: ${known.join(', ')}` : 'none is defined there'})`;
}

// Service names are mesh-wide (as in Kubernetes Multi-Cluster Services): the
// shared policy tree declares every Service of the mesh, so a selector that
// names none is a typo in every region, and a DENY with a typo protects nothing.
export function checkPolicyTargets(inputs: PolicyTargetInputs): ResourceError[] {
  const errors: ResourceError[] = [];
  for (const { policy, origin } of inputs.policies) {
    const ns = policy.metadata.namespace;
    const at = (path: PathSegment[], value: unknown, code: ResourceErrorInit['code'], expected: string): ResourceError =>
      makeResourceError({ file: origin.file, document: origin.document, path, line: origin.lineOf(path), resource: resourceRef(policy), code, value, expected });
    const selected = policy.spec.selector?.services;
    const declared = inputs.declaredServices.get(ns) ?? [];
    selected?.forEach((name, i) => {
      if (declared.includes(name)) return;
      errors.push(at(['spec', 'selector', 'services', i], name, 'UNKNOWN_SERVICE',
        `${unknownServiceExpectation(inputs.declaredServices, ns)}; Service names are mesh-wide: the shared policy tree declares every Service of the mesh, also where this region runs none of its Workloads`));
    });
    const targets = selected
      ? selected.flatMap((name) => inputs.services.get(`${ns}/${name}`) ?? [])
      : [...inputs.services.values()].filter((s) => s.metadata.namespace === ns);
    (policy.spec.rules ?? []).forEach((rule, r) => {
      (rule.to ?? []).forEach((op, o) => {
        const key = L7_KEYS.find((k) => op[k] !== undefined);
        if (key === undefined) return;
        for (const s of targets) {
          const decision = checkHttpPort(s, op.ports);
          if (decision.kind === 'ok') continue;
          const fix = selected ? '' : ', or list only HTTP Services in spec.selector.services (this policy has no selector, so it applies to every Service of its namespace)';
          errors.push(at(['spec', 'rules', r, 'to', o, key], op[key], 'L7_RULE_WITHOUT_HTTP_PORT',
            `an operation on a Service port with protocol: http or http2 (${key} can only be checked on HTTP requests, and ${decision.listed ? `the ports it lists on ${resourceRef(s)} are` : `${resourceRef(s)} has only`} tcp ports ${decision.tcpPorts.join(', ')}, carried as opaque streams); declare protocol: http on the port in the Service if it speaks HTTP, or drop ${key} from this rule${fix}`));
        }
      });
    });
  }
  return errors;
}

export type HttpPortDecision =
  | { readonly kind: 'ok' }
  | { readonly kind: 'no-http-port'; readonly listed: boolean; readonly tcpPorts: readonly number[] };

/**
 * Pure: can an operation naming `ports` (undefined: every port) reach an HTTP
 * port of `service`? An operation that names none of the Service's ports does
 * not concern it and is fine (it matches nothing there).
 */
export function checkHttpPort(service: Service, ports: readonly number[] | undefined): HttpPortDecision {
  const reached = ports === undefined ? service.spec.ports : service.spec.ports.filter((p) => ports.includes(p.port));
  if (reached.length === 0 || reached.some((p) => p.protocol !== 'tcp')) return { kind: 'ok' };
  return { kind: 'no-http-port', listed: ports !== undefined, tcpPorts: reached.map((p) => p.port) };
}
