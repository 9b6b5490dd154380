// Cross-resource checks of DataRoutes: the members' Service must be declared
// and have the port; the TCP names clients dial must be new names in their
// namespace (not a Service's, not another DataRoute's), since the mesh
// answers them on the DataRoute's behalf. Pure; locations from the loader.
import type { DataRoute, Service } from './resources.js';
import { resourceRef } from './resources.js';
import { unknownServiceExpectation } from './check-policy-targets.js';
import type { PathSegment, ResourceError, ResourceErrorInit } from './resource-error.js';
import { makeResourceError } from './resource-error.js';
import type { PolicyOrigin } from './check-policy-targets.js';

interface Located {
  readonly resource: { kind: string };
}

export function checkDataRoutes(
  located: readonly (Located & PolicyOrigin)[],
  declaredServices: ReadonlyMap<string, readonly string[]>,
  services: ReadonlyMap<string, Service>,
): ResourceError[] {
  const errors: ResourceError[] = [];
  const names = new Map<string, string>();
  for (const l of located) {
    if (l.resource.kind !== 'DataRoute') continue;
    const r = l.resource as DataRoute;
    const ns = r.metadata.namespace;
    const err = (path: PathSegment[], value: unknown, code: ResourceErrorInit['code'], expected: string): ResourceError =>
      makeResourceError({ file: l.file, document: l.document, path, line: l.lineOf(path), resource: resourceRef(r), code, value, expected });
    const member = r.spec.members.service;
    if (!(declaredServices.get(ns) ?? []).includes(member)) {
      errors.push(err(['spec', 'members', 'service'], member, 'UNKNOWN_SERVICE', unknownServiceExpectation(declaredServices, ns)));
    } else {
      const s = services.get(`${ns}/${member}`);
      if (s && !s.spec.ports.some((p) => p.port === r.spec.members.port)) {
        errors.push(err(['spec', 'members', 'port'], r.spec.members.port, 'UNKNOWN_PORT', `a port of ${resourceRef(s)} (it has ${s.spec.ports.map((p) => p.port).join(', ')})`));
      }
    }
    if (!r.spec.tcp) continue;
    for (const key of ['readWrite', 'readOnly'] as const) {
      const name = r.spec.tcp[key];
      if ((declaredServices.get(ns) ?? []).includes(name)) {
        errors.push(err(['spec', 'tcp', key], name, 'DATA_ROUTE_NAME_TAKEN', `a name no Service in namespace "${ns}" has: the mesh answers ${name}.${ns}.mesh for this DataRoute`));
        continue;
      }
      const owner = names.get(`${ns}/${name}`);
      if (owner) errors.push(err(['spec', 'tcp', key], name, 'DATA_ROUTE_NAME_TAKEN', `a name no other DataRoute uses (${owner} has it)`));
      else names.set(`${ns}/${name}`, resourceRef(r));
    }
  }
  return errors;
}
