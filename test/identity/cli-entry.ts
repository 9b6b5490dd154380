// Test-only stand-in for `entente` until the real CLI wires the identity
// commands: a commander program with just registerIdentityCommands.
import { Command } from 'commander';
import { registerIdentityCommands } from '../../src/identity/identity-cli.js';

const program = new Command().name('entente');
registerIdentityCommands(program);
await program.parseAsync(process.argv);
