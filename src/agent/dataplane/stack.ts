// The pipeline model both directions are built with (linkerd2-proxy's stack,
// tower's Layer): a Service takes a call and settles with an Outcome, never
// rejects; a Layer wraps the next service. `stack().push(a).push(b).end(s)`
// reads top to bottom in the order a call passes through.
import type { Outcome } from './outcome.js';

export type Service<C> = (call: C) => Promise<Outcome>;
export type Layer<C> = (next: Service<C>) => Service<C>;

export interface Stack<C> {
  /** Adds a layer below the ones pushed before it. */
  push(layer: Layer<C>): Stack<C>;
  /** Closes the stack with its innermost service and returns the composed service. */
  end(inner: Service<C>): Service<C>;
}

export function stack<C>(): Stack<C> {
  const layers: Layer<C>[] = [];
  const s: Stack<C> = {
    push(layer) {
      layers.push(layer);
      return s;
    },
    end(inner) {
      let service = inner;
      for (let i = layers.length - 1; i >= 0; i--) service = layers[i]!(service);
      return service;
    },
  };
  return s;
}
