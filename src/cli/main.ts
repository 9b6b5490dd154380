#!/usr/bin/env node
// The `entente` command: every component, the lab and the operator tools.
// Only the command family being run is loaded: an agent on a small edge device
// starts without paying for the lab, the anycast speaker or the CLI tools.
import { Command, CommanderError } from 'commander';
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
  { names: ['policy', 'validate'], load: async () => (await import('./policy-commands.js')).registerPolicyCommands },
  { names: ['anycast'], load: async () => (await import('../anycast/cli.js')).registerAnycastCommands },
  { names: ['completion'], load: async () => (await import('./completion.js')).registerCompletionCommand },
];

/** Exit code of a usage error (an unknown command or option, a bad value), as for POSIX utilities. */
const USAGE_EXIT = 2;

async function main(): Promise<void> {
  const program = new Command();
  program.name('entente').description('Entente: a federated service mesh across regions, clouds and edge sites').version(ENTENTE_VERSION, '-V, --version', 'print the client version').showHelpAfterError();
  // Set before any command is added, so that every subcommand inherits it: commander's own
  // usage errors are thrown to main's catch (exit 2) instead of exiting 1.
  program.exitOverride();
  const first = process.argv[2];
  const chosen = FAMILIES.filter((f) => first !== undefined && first !== 'completion' && f.names.includes(first));
  // Help, completion, or an unknown command: load everything so that commander can list or suggest.
  for (const family of chosen.length > 0 ? chosen : FAMILIES) (await family.load())(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  // Commander has already printed its message (and the help); help and --version are not errors.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : USAGE_EXIT);
  // Exit, not just set the code: a component that failed half-way through start-up (a port taken,
  // say) may already hold listeners and timers that would keep a broken process running.
  // A usage error (an EntenteError coded CLI_*) exits 2, a controller that cannot be read 4, any other failure 1.
  const code = !(err instanceof EntenteError) ? 1 : err.code === 'CLI_UNREACHABLE' ? 4 : err.code.startsWith('CLI_') ? 2 : 1;
  process.stderr.write(`entente: ${describeError(err)}\n`, () => process.exit(code));
});
