#!/usr/bin/env node
// The `entente` command: every component, the lab and the operator tools.
import { Command } from 'commander';
import { describeError } from '../core/errors.js';
import { registerControllerCommands } from './controller-commands.js';
import { registerNodeCommands } from './node-commands.js';
import { registerLabCommands } from './lab-commands.js';
import { registerIdentityCommands } from '../identity/identity-cli.js';
import { registerAnycastCommands } from '../anycast/cli.js';

const program = new Command();
program.name('entente').description('Entente: a federated service mesh across regions, clouds and edge sites').showHelpAfterError();
registerControllerCommands(program);
registerNodeCommands(program);
registerLabCommands(program);
registerIdentityCommands(program);
registerAnycastCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`entente: ${describeError(err)}\n`);
  process.exitCode = 1;
});
