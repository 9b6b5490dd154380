// Runs the outbound conformance suite (outbound.case.ts) against each of the
// three entries, over one pair of real data planes.
import { before, after } from 'node:test';
import { startMesh, type Mesh } from './mesh-fixture.js';
import { ENTRY_DRIVERS, outboundConformance } from './outbound.case.js';

let mesh: Mesh;
before(async () => {
  mesh = await startMesh({ httpProxy: true });
  const listen = { host: `${mesh.prefix}.1`, port: 0 };
  // The fixture's per-service ports, plus one whose host no route serves.
  await mesh.a.setSnapshot(
    mesh.snapshotA({
      generation: 2,
      outboundPorts: [
        { listen, host: 'catalog.shop.mesh', port: 80 },
        { listen, host: 'catalog.shop.mesh', port: 7000 },
        { listen, host: 'billing.shop.mesh', port: 80 },
        { listen, host: 'nothing.shop.mesh', port: 80 },
        { listen, host: 'orders.shop.mesh', port: 80 },
      ],
    }),
  );
});
after(async () => {
  await mesh?.close();
});

for (const driver of ENTRY_DRIVERS) outboundConformance(driver, () => mesh);
