// Polling an admin API path: the last good answer is kept, with when it came,
// and a failed poll adds its error without hiding that answer.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';

/** The last answer of a poll, when it came, and the last error if the latest poll failed. */
export interface Polled<T> {
  readonly data?: T;
  readonly at?: number;
  readonly error?: string;
}

export function usePoll<T>(path: string | (() => string), everyMs: number, deps: readonly unknown[] = []): Polled<T> {
  const [state, setState] = useState<Polled<T>>({});
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async (): Promise<void> => {
      try {
        const data = await getJson<T>(typeof path === 'string' ? path : path());
        if (!stopped) setState({ data, at: Date.now() });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: (err as Error).message }));
      }
      if (!stopped) timer = window.setTimeout(() => void tick(), everyMs);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, deps);
  return state;
}

