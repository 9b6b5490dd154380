// Finding a loopback range for the lab that no other lab (or anything else)
// holds: a second `entente lab` on the default range would otherwise die with
// EADDRINUSE and no hint. A range is taken when any region's controller admin
// address cannot be bound; the check binds and releases at once.
import { createServer } from 'node:net';
import { PORTS } from './lab-topology.js';

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Whether every region's controller admin address of `prefix` ("127.N") is free. */
export async function prefixFree(prefix: string, regionCount: number): Promise<boolean> {
  for (let i = 1; i <= regionCount; i++) if (!(await canBind(`${prefix}.${i}.1`, PORTS.controllerAdmin))) return false;
  return true;
}

/** The first free range from `first` upwards ("127.77", "127.78", ...), at most `tries` looked at; undefined when none is. */
export async function pickFreePrefix(first: number, regionCount: number, tries = 40, free = prefixFree): Promise<string | undefined> {
  for (let k = 0; k < tries; k++) {
    const n = first + k;
    if (n > 254) break;
    const prefix = `127.${n}`;
    if (await free(prefix, regionCount)) return prefix;
  }
  return undefined;
}
