#!/usr/bin/env node
// The `entente` command: every component, the lab and the operator tools.
// Only the command family being run is loaded: an agent on a small edge device
// starts without paying for the lab, the anycast speaker or the CLI tools.
import { Command } from 'commander';
import { describeError, EntenteError } from '../core/errors.js';
import { ENTENTE_VERSION } from '../core/build-info.js';

type Register = (program: Command) => void;

const FAMILIES: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['controller', 'token'], load: async () => (await import('./controller-commands.js')).registerControllerCommands },
  { names: ['agent', 'gateway'], load: async () => (await import('./node-commands.js')).registerNodeCommands },
  { names: ['lab', 'demo-app', 'lab-attack'], load: async () => (await import('./lab-commands.js')).registerLabCommands },
  { names: ['identity'], load: async () => (await import('../identity/identity-cli.js')).registerIdentityCommands },
  { names: ['drift', 'version'], load: async () => (await import('./operator-commands.js')).registerOperatorCommands },
  { names: ['flows'], load: async () => (await import('./flows-command.js')).registerFlowsCommand },
  { names: ['status', 'check'], load: async () => (await import('./status-commands.js')).registerStatusCommands },
  { names: ['anycast'], load: async () => (await import('../anycast/cli.js')).registerAnycastCommands },
];

async function main(): Promise<void> {
  const program = new Command();
  program.name('entente').description('Entente: a federated service mesh across regions, clouds and edge sites').version(ENTENTE_VERSION, '-V, --version', 'print the client version').showHelpAfterError();
  const first = process.argv[2];
  const chosen = FAMILIES.filter((f) => first !== undefined && f.names.includes(first));
  // Help, or an unknown command: load everything so that commander can list or suggest.
  for (const family of chosen.length > 0 ? chosen : FAMILIES) (await family.load())(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  // Exit, not just set the code: a component that failed half-way through start-up (a port taken,
  // say) may already hold listeners and timers that would keep a broken process running.
  // A usage error (an EntenteError coded CLI_*) exits 2, a controller that cannot be read 4, any other failure 1.
  const code = !(err instanceof EntenteError) ? 1 : err.code === 'CLI_UNREACHABLE' ? 4 : err.code.startsWith('CLI_') ? 2 : 1;
  process.stderr.write(`entente: ${describeError(err)}\n`, () => process.exit(code));
});
