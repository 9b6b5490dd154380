// "namespace/serviceaccount" of a workload SPIFFE ID (spiffe://<td>/ns/<ns>/sa/<sa>,
// the convention of SpiffeId.forWorkload): how metrics, the service map and the
// dashboard name a caller. Pure and dependency-free, so the dashboard's browser
// bundle uses it too.

const WORKLOAD = /^(?:spiffe:\/\/[^/]+)?\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The account of a SPIFFE ID or of its path; undefined for one that does not follow the convention. */
export function workloadAccount(idOrPath: string): string | undefined {
  const m = WORKLOAD.exec(idOrPath);
  return m ? `${m[1]}/${m[2]}` : undefined;
}
