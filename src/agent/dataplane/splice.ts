// Copies bytes both ways between two duplexes (app socket <-> CONNECT
// stream) with backpressure and half-close: an end on one side ends the other
// side's writable only; an error or abort on either side destroys both.
import { pipeline, type Duplex } from 'node:stream';

/** `done` runs once, after both directions are over; err is the first failure, if any. */
export function splice(a: Duplex, b: Duplex, done: (err?: Error) => void): void {
  let pending = 2;
  let first: Error | undefined;
  const finish = (err?: Error | null): void => {
    if (err && !first) first = err;
    if (--pending === 0) done(first);
  };
  pipeline(a, b, finish);
  pipeline(b, a, finish);
}
