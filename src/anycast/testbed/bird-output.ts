// Parsers for birdc's text output (BIRD 2): `show route ... all` and
// `show protocols all NAME`, and its route trace log. Pure, so they are
// tested on captured text.

export interface BirdRoute {
  readonly prefix: string;
  readonly protocol: string;
  /** BIRD marks its selected (best) route with '*'. */
  readonly primary: boolean;
  readonly nextHop: string | undefined;
  readonly asPath: readonly number[];
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly communities: readonly string[];
}

export function parseBirdRoutes(text: string): BirdRoute[] {
  const out: BirdRoute[] = [];
  let current: { -readonly [K in keyof BirdRoute]: BirdRoute[K] } | undefined;
  let lastPrefix = '';
  for (const line of text.split('\n')) {
    // "203.0.113.10/32      unicast [site_a 19:21:33.047] * (100) [AS65001i]"; continuation routes omit the prefix.
    const head = /^(\S+\/\d+)?\s+(?:unicast|unreachable|blackhole|prohibited)\s+\[(\S+)\s[^\]]*\]\s*(\*)?/.exec(line);
    if (head) {
      if (current) out.push(current);
      lastPrefix = head[1] ?? lastPrefix;
      current = { prefix: lastPrefix, protocol: head[2]!, primary: head[3] === '*', nextHop: undefined, asPath: [], med: undefined, localPref: undefined, communities: [] };
      continue;
    }
    if (!current) continue;
    const t = line.trim();
    let m: RegExpExecArray | null;
    if ((m = /^via (\S+)/.exec(t))) current.nextHop = m[1];
    else if ((m = /^BGP\.as_path:\s*(.*)$/.exec(t))) current.asPath = m[1]!.split(/\s+/).filter(Boolean).map(Number);
    else if ((m = /^BGP\.med:\s*(\d+)/.exec(t))) current.med = Number(m[1]);
    else if ((m = /^BGP\.local_pref:\s*(\d+)/.exec(t))) current.localPref = Number(m[1]);
    else if ((m = /^BGP\.community:\s*(.*)$/.exec(t))) current.communities = [...m[1]!.matchAll(/\((\d+),\s*(\d+)\)/g)].map((c) => `${c[1]}:${c[2]}`);
  }
  if (current) out.push(current);
  return out;
}

export interface BirdProtocol {
  readonly name: string;
  readonly state: string;
  readonly bgpState: string | undefined;
  readonly holdTime: number | undefined;
  readonly keepaliveTime: number | undefined;
  readonly lastError: string | undefined;
}

export function parseBirdProtocol(text: string): BirdProtocol | undefined {
  const lines = text.split('\n');
  const headerIdx = lines.findIndex((l) => /^Name\s+Proto/.test(l));
  const row = headerIdx >= 0 ? lines[headerIdx + 1]?.trim().split(/\s+/) : undefined;
  if (!row || row.length < 4) return undefined;
  const field = (re: RegExp): string | undefined => {
    for (const l of lines) {
      const m = re.exec(l);
      if (m) return m[1];
    }
    return undefined;
  };
  // "Hold timer:       2.345/3" and "Keepalive timer:  0.5/1"
  const hold = field(/Hold timer:\s+[\d.]+\/(\d+)/);
  const ka = field(/Keepalive timer:\s+[\d.]+\/(\d+)/);
  return {
    name: row[0]!, state: row[3]!, bgpState: field(/BGP state:\s+(\S+)/),
    holdTime: hold === undefined ? undefined : Number(hold), keepaliveTime: ka === undefined ? undefined : Number(ka),
    lastError: field(/Last error:\s+(.*)$/),
  };
}

/** Epoch ms of each "<TRACE> PROTO.ipv4 > EVENT [..] PREFIX" line of BIRD's log (`debug { routes }`). */
export function parseBirdRouteEvents(log: string, protocol: string, event: 'added' | 'removed', prefix: string): number[] {
  const out: number[] = [];
  for (const line of log.split('\n')) {
    const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) <TRACE> (\S+)\.ipv[46] > (\w+) \[[^\]]*\] (\S+)/.exec(line);
    if (!m || m[8] !== protocol || m[9] !== event || m[10] !== prefix) continue;
    // BIRD logs local time, which is how Date's component constructor reads it.
    out.push(new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!).getTime());
  }
  return out;
}
