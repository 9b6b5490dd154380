// `entente agent` and `entente gateway`.
import type { Command } from 'commander';
import { loadConfigFile } from '../core/config-file.js';
import { loggerFrom, withLogOptions } from './log-options.js';
import { loadAgentConfig } from './agent-flags.js';
import { startAgent } from '../agent/agent.js';
import { gatewayConfigSchema } from '../gateway/gateway-config.js';
import { startGatewayNode } from '../gateway/gateway-node.js';
import { runUntilSignal } from './run-until-signal.js';

export function registerNodeCommands(program: Command): void {
  withLogOptions(program
    .command('agent')
    .description('run the node agent (outbound proxy, inbound mTLS, authorization)')
    .requiredOption('-c, --config <file>', 'agent.yaml')
    .option('--node <name>', "the node name, instead of agent.yaml's node (a DaemonSet passes spec.nodeName)")
    .option('--advertise-ip <ip>', "the IP other nodes dial, with advertise's port or else listen.inbound's (a DaemonSet passes status.hostIP)"))
    .action(async (opts: { config: string; node?: string; advertiseIp?: string; logLevel?: string; logFormat?: string }) => {
      const config = loadAgentConfig(opts.config, { ...(opts.node !== undefined ? { node: opts.node } : {}), ...(opts.advertiseIp !== undefined ? { advertiseIp: opts.advertiseIp } : {}) });
      const log = loggerFrom(opts, 'agent', { node: config.node });
      const running = await startAgent(config, log);
      runUntilSignal(log, () => running.close());
    });
  withLogOptions(program
    .command('gateway')
    .description("run a region's east-west gateway (SNI passthrough)")
    .requiredOption('-c, --config <file>', 'gateway.yaml'))
    .action(async (opts: { config: string; logLevel?: string; logFormat?: string }) => {
      const config = loadConfigFile(gatewayConfigSchema, opts.config);
      const log = loggerFrom(opts, 'gateway', { gateway: config.name });
      const running = await startGatewayNode(config, log);
      runUntilSignal(log, () => running.close());
    });
}
