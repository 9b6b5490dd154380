// A site's demo service for the namespace tests: answers every request with
// the site's name, so a client of the anycast address can tell who served it.
// Usage: node site-server.js HOST:PORT NAME
import { createServer } from 'node:http';
import { parseSocketAddress } from '../../core/address.js';

const [listen, name] = process.argv.slice(2);
if (!listen || !name) {
  process.stderr.write('usage: site-server HOST:PORT NAME\n');
  process.exit(2);
}
const addr = parseSocketAddress(listen);
const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(`${name}\n`));
server.listen(addr.port, addr.host, () => process.stdout.write(`listening ${listen}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
