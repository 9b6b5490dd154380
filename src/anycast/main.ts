// Standalone entry for the announcer (`node dist/src/anycast/main.js anycast
// --config x`), used by the namespace tests and benchmark; the product CLI
// registers the same commands.
import { Command } from 'commander';
import { registerAnycastCommands } from './cli.js';

const program = new Command('entente');
registerAnycastCommands(program);
await program.parseAsync(process.argv);
