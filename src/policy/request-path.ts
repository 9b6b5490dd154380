// Normalizes an HTTP request target before path rules see it, so that
// "//admin", "/a/../admin" or "/%61dmin" cannot slip past a DENY on "/admin*".
// The agent forwards the normalized target (normalizeRequestTarget), so the
// app routes on exactly the path that was checked.

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * A path the slow path would return unchanged: "/"-separated segments of
 * pchar characters without "%", none empty (no "//") and none "." or ".."
 * (a trailing "/" is an empty last segment, which is kept).
 */
const SEGMENT = "(?!\\.\\.?(?:/|$))[A-Za-z0-9\\-._~!$&'()*+,;=:@]+";
const CANONICAL = new RegExp(`^/(?:${SEGMENT}/)*(?:${SEGMENT})?$`);

export type NormalizedPath = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Origin-form only ("/..."): the query and fragment are dropped; percent-
 * escapes of unreserved characters are decoded, others upper-cased; runs of
 * "/" are merged; "." and ".." segments are resolved (RFC 3986 5.2.4, never
 * above the root). Refused (reason set): not starting with "/", a backslash,
 * an encoded "/" or "\" (%2F, %5C), a bad escape, or control/space characters.
 */
export function normalizeRequestPath(target: string): NormalizedPath {
  const end = target.search(/[?#]/);
  const raw = end === -1 ? target : target.slice(0, end);
  // Most paths are already canonical: one scan, no rebuilding. The agent
  // normalizes a request once to forward it and authorize() checks it again.
  if (CANONICAL.test(raw)) return { ok: true, path: raw };
  if (!raw.startsWith('/')) return { ok: false, reason: 'the path does not start with "/"' };
  // Control characters and space are never valid in a request target.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(raw)) return { ok: false, reason: 'the path has control characters or spaces' };
  if (raw.includes('\\')) return { ok: false, reason: 'the path has a backslash' };
  let decoded = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, reason: 'the path has a malformed %-escape' };
    const ch = String.fromCharCode(parseInt(hex, 16));
    if (ch === '/' || ch === '\\') return { ok: false, reason: 'the path has an encoded "/" or "\\" (%2F, %5C)' };
    decoded += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return { ok: true, path: removeDotSegments(decoded.replace(/\/{2,}/g, '/')) };
}

export type NormalizedTarget = { ok: true; path: string; target: string } | { ok: false; reason: string };

/**
 * The request target to forward: the normalized path plus the original
 * query, byte for byte (a query is the app's to interpret). A fragment is
 * refused: it never belongs in a request (RFC 9112 3.2), and an app that
 * reads one would see text the policy never did. Normalizing `target` again
 * gives the same result.
 */
export function normalizeRequestTarget(target: string): NormalizedTarget {
  if (target.includes('#')) return { ok: false, reason: 'the request target has a fragment ("#")' };
  const n = normalizeRequestPath(target);
  if (!n.ok) return n;
  const q = target.indexOf('?');
  return { ok: true, path: n.path, target: q === -1 ? n.path : `${n.path}${target.slice(q)}` };
}

function removeDotSegments(path: string): string {
  const segments = path.split('/').slice(1);
  const out: string[] = [];
  for (const [i, seg] of segments.entries()) {
    const last = i === segments.length - 1;
    if (seg === '.' || seg === '..') {
      if (seg === '..') out.pop();
      // "/a/.." and "/a/." name the directory: keep the trailing slash.
      if (last) out.push('');
    } else {
      out.push(seg);
    }
  }
  return `/${out.join('/')}`;
}
