// Drift between regions: which policy resources differ, and what each region
// has. Pure: the controller feeds it its own digests and the ones carried in
// the signed states it holds of its peers.

export interface RegionPolicyView {
  readonly region: string;
  /** Per-resource digests; undefined when we hold no state of the region, or its controller publishes none. */
  readonly resources: Readonly<Record<string, string>> | undefined;
  readonly digest?: string | undefined;
  readonly commit?: string | undefined;
  /** Age of what we know of the region (ms); undefined for our own region or unknown regions. */
  readonly ageMs?: number | undefined;
  readonly stale?: boolean | undefined;
}

export interface DriftedResource {
  readonly resource: string;
  /** Region -> its digest of the resource, or null when the region does not have it. Unknown regions are left out. */
  readonly regions: Readonly<Record<string, string | null>>;
}

export interface DriftReport {
  /** True when at least one resource differs between the regions whose policy is known. */
  readonly drift: boolean;
  readonly regions: readonly (Omit<RegionPolicyView, 'resources'> & { readonly known: boolean; readonly resourceCount: number })[];
  /** Regions whose policy cannot be compared (no state held, or an older controller): not counted as drift, but listed. */
  readonly unknown: readonly string[];
  readonly differing: readonly DriftedResource[];
}

export function computeDrift(views: readonly RegionPolicyView[]): DriftReport {
  const known = views.filter((v) => v.resources !== undefined);
  const names = new Set<string>();
  for (const v of known) for (const k of Object.keys(v.resources!)) names.add(k);
  const differing: DriftedResource[] = [];
  for (const resource of [...names].sort()) {
    const regions: Record<string, string | null> = {};
    for (const v of known) regions[v.region] = v.resources![resource] ?? null;
    if (new Set(Object.values(regions)).size > 1) differing.push({ resource, regions });
  }
  return {
    drift: differing.length > 0,
    regions: views.map(({ resources, ...rest }) => ({ ...rest, known: resources !== undefined, resourceCount: resources ? Object.keys(resources).length : 0 })),
    unknown: views.filter((v) => v.resources === undefined).map((v) => v.region),
    differing,
  };
}

/** The report as an operator reads it in a terminal. */
export function formatDrift(r: DriftReport): string {
  const lines: string[] = [];
  for (const v of r.regions) {
    const what = v.known ? `${v.resourceCount} policy resources, digest ${(v.digest ?? '?').slice(0, 12)}` : 'policy unknown (no state held, or a controller that publishes no per-resource digests)';
    const commit = v.commit ? `, commit ${v.commit}` : '';
    const age = v.ageMs !== undefined ? `, state ${Math.round(v.ageMs / 1000)} s old${v.stale ? ' (stale)' : ''}` : '';
    lines.push(`${v.region.padEnd(12)} ${what}${commit}${age}`);
  }
  if (!r.drift) {
    lines.push('', r.unknown.length > 0 ? `no drift between the regions whose policy is known (unknown: ${r.unknown.join(', ')})` : 'no drift: every region enforces the same policy');
    return lines.join('\n');
  }
  lines.push('', `${r.differing.length} resource(s) differ:`);
  for (const d of r.differing) {
    lines.push(`  ${d.resource}`);
    for (const [region, digest] of Object.entries(d.regions)) lines.push(`    ${region.padEnd(12)} ${digest === null ? '(absent)' : digest.slice(0, 12)}`);
  }
  return lines.join('\n');
}
