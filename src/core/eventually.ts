// Polls a condition until it holds or a deadline passes: how tests and the
// lab wait for convergence (never a fixed sleep). The one helper for it.
//
// Contract: the probe is retried while it throws or returns false, undefined
// or null; its first other value is returned. Bounds are generous by default
// because a wait that succeeds costs nothing extra, while a tight bound turns a
// busy machine into a failure.

export const DEFAULT_EVENTUALLY_TIMEOUT_MS = 60_000;

export async function eventually<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EVENTUALLY_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/**
 * Turns an assertion-style check (throws until it holds) into a probe: its
 * value when it has one, else true once it stops throwing.
 */
export function passes<T>(check: () => T | Promise<T>): () => Promise<T> {
  return async () => {
    const v = await check();
    // A void check that did not throw has passed: hand eventually() a value that ends the wait.
    return (v === undefined ? true : v) as T;
  };
}
