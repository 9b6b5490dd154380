// Data plane benchmark (`npm run bench -- dataplane`): direct, two Entente
// agents in L4 and L7 mode, two HAProxy instances with mTLS in tcp and http
// mode, all in front of one nginx; interleaved rounds, medians of per-round
// ratios. The parts live in bench/dataplane/; docs/dataplane.md "Measured".
export { run } from './dataplane/run-dataplane.js';
