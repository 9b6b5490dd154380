// `entente controller` and `entente token create`.
import { outputFormatOf, structured } from './output.js';
import type { Command } from 'commander';
import { request } from 'node:http';
import { loadConfigFile } from '../core/config-file.js';
import { loggerFrom, withLogOptions } from './log-options.js';
import { formatSocketAddress } from '../core/address.js';
import { controllerConfigSchema } from '../controller/controller-config.js';
import { readAdminCredential, startController } from '../controller/controller.js';
import { runUntilSignal } from './run-until-signal.js';

export function registerControllerCommands(program: Command): void {
  withLogOptions(program
    .command('controller')
    .description("run a region's controller (CA, registry, policy, federation)")
    .requiredOption('-c, --config <file>', 'region.yaml'))
    .action(async (opts: { config: string; logLevel?: string; logFormat?: string }) => {
      const config = loadConfigFile(controllerConfigSchema, opts.config);
      const log = loggerFrom(opts, 'controller', { region: config.region });
      const running = await startController(config, log);
      runUntilSignal(log, () => running.close());
    });

  const token = program.command('token').description('join tokens for new agents and gateways');
  token
    .command('create')
    .description('create a one-time join token for a node and print it')
    .requiredOption('--node <name>', 'node name the token is bound to')
    .requiredOption('-c, --config <file>', "the controller's region.yaml (for its admin address and credential)")
    .option('--gateway', 'the node is a gateway')
    .option('--address <ip...>', 'IP address(es) the node may advertise (default: the address it connects from)')
    .option('--ttl <duration>', 'lifetime, e.g. 15m')
    .option('-o, --output <format>', 'text (the token alone), json or yaml', 'text')
    .option('--json', 'the same as -o json')
    .action(async (opts: { node: string; config: string; gateway?: boolean; address?: string[]; ttl?: string; json?: boolean; output?: string }) => {
      const format = outputFormatOf(opts);
      const config = loadConfigFile(controllerConfigSchema, opts.config);
      const credential = readAdminCredential(config.dataDir);
      const body = JSON.stringify({ node: opts.node, kind: opts.gateway ? 'gateway' : 'agent', ...(opts.address ? { addresses: opts.address } : {}), ...(opts.ttl ? { ttl: opts.ttl } : {}) });
      const result = await new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
        const req = request(
          `http://${formatSocketAddress(config.listen.admin)}/v1/tokens`,
          { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' } },
          (res) => {
            let data = '';
            res.on('data', (c: Buffer) => (data += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data || '{}') as Record<string, unknown> }));
          },
        );
        req.on('error', (err) => reject(new Error(`cannot reach the controller admin API at ${formatSocketAddress(config.listen.admin)}: ${err.message}`)));
        req.end(body);
      });
      if (result.status !== 200) throw new Error(`controller refused: ${JSON.stringify(result.json)}`);
      process.stdout.write(format === 'json' ? `${JSON.stringify(result.json)}\n` : format === 'yaml' ? structured('yaml', result.json)! : `${String(result.json.token)}\n`);
    });
}
