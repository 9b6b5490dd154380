// Cross-resource checks of DataRoutes: the members' Service must be declared
// and have the port (an HTTP one for protocol http); the names clients dial
// (TCP: readWrite and readOnly; HTTP: the DataRoute's own name) must be new
// names in their namespace (not a Service's, not another DataRoute's), since
// the mesh answers them on the DataRoute's behalf. Pure; locations from the loader.
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
      const port = s?.spec.ports.find((p) => p.port === r.spec.members.port);
      if (s && !port) {
        errors.push(err(['spec', 'members', 'port'], r.spec.members.port, 'UNKNOWN_PORT', `a port of ${resourceRef(s)} (it has ${s.spec.ports.map((p) => p.port).join(', ')})`));
      } else if (s && port && r.spec.protocol === 'http' && port.protocol !== 'http' && port.protocol !== 'http2') {
        // The agents classify HTTP requests: on a TCP port they would only see bytes.
        errors.push(err(['spec', 'members', 'port'], r.spec.members.port, 'DATA_ROUTE_PORT_NOT_HTTP', `a port of ${resourceRef(s)} declared protocol: http or http2 (port ${port.port} is ${port.protocol ?? 'tcp'}), for protocol: http`));
      }
    }
    if (r.spec.protocol === 'http') {
      // HTTP clients dial the DataRoute's own name: <name>.<namespace>.mesh.
      const name = r.metadata.name;
      if ((declaredServices.get(ns) ?? []).includes(name)) {
        errors.push(err(['metadata', 'name'], name, 'DATA_ROUTE_NAME_TAKEN', `a name no Service in namespace "${ns}" has: the mesh answers ${name}.${ns}.mesh for this DataRoute`));
      } else {
        const owner = names.get(`${ns}/${name}`);
        if (owner) errors.push(err(['metadata', 'name'], name, 'DATA_ROUTE_NAME_TAKEN', `a name no other DataRoute uses (${owner} has it)`));
        else names.set(`${ns}/${name}`, resourceRef(r));
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
