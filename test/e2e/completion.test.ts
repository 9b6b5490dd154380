// `entente completion bash|zsh|fish`, loaded into the real shells (Debian's
// bash, zsh and fish): subcommands, nested subcommands, options and option
// values complete as a user would see them; a bad shell is a usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from './lab-harness.js';

const run = promisify(execFile);

async function script(shell: string): Promise<string> {
  const r = await runCli(['completion', shell], 60_000);
  assert.equal(r.code, 0, r.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'entente-completion-'));
  const file = join(dir, `entente.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

test('bash: commands, nested commands, options and their values', { timeout: 120_000 }, async (t) => {
  const file = await script('bash');
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  // Completes the words after "entente" as bash would (COMP_WORDS, COMP_CWORD), one result per line.
  const complete = async (...words: string[]): Promise<string[]> => {
    const body = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _entente; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return lines((await run('bash', ['-c', body])).stdout);
  };
  assert.deepEqual(await complete('entente', 'st'), ['status']);
  assert.deepEqual(await complete('entente', 'identity', ''), ['parse', 'inspect', 'verify', '--help', '-h']);
  assert.deepEqual(await complete('entente', 'flows', '--verdict', ''), ['allow', 'deny', 'error']);
  assert.deepEqual(await complete('entente', 'status', '-o', 'y'), ['yaml']);
  // An option's value is not taken for a subcommand: after "--from check" come flows' options again.
  assert.ok((await complete('entente', 'flows', '--from', 'check', '--')).includes('--since'));
  assert.ok((await complete('entente', 'completion', '--')).includes('--help'));
});

test('zsh (through bashcompinit): the same words', { timeout: 120_000 }, async (t) => {
  const file = await script('zsh');
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  // zsh filters COMPREPLY by the typed prefix itself, so every candidate of the position comes back.
  const complete = async (...words: string[]): Promise<string[]> => {
    const body = `autoload -U compinit && compinit -u -d ${JSON.stringify(`${file}.zcompdump`)}; source ${JSON.stringify(file)}; setopt ksharrays; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=${words.length - 1}; _entente; print -l -- "\${COMPREPLY[@]}"`;
    return lines((await run('zsh', ['-f', '-c', body])).stdout);
  };
  const top = await complete('entente', '');
  for (const w of ['status', 'check', 'flows', 'lab', 'completion']) assert.ok(top.includes(w), `${w} in ${top.join(' ')}`);
  assert.deepEqual(await complete('entente', 'flows', '--verdict', ''), ['allow', 'deny', 'error']);
});

test('fish: commands with their descriptions, options and values', { timeout: 120_000 }, async (t) => {
  const file = await script('fish');
  t.after(() => rmSync(join(file, '..'), { recursive: true, force: true }));
  const complete = async (line: string): Promise<string[]> => lines((await run('fish', ['--no-config', '-c', `source ${JSON.stringify(file)}; complete -C ${JSON.stringify(line)}`])).stdout);
  const st = await complete('entente st');
  assert.equal(st.length, 1, st.join('\n'));
  assert.match(st[0]!, /^status\ta region at a glance/);
  assert.deepEqual((await complete('entente identity ')).map((l) => l.split('\t')[0]).sort(), ['inspect', 'parse', 'verify']);
  assert.deepEqual((await complete('entente flows --verdict ')).map((l) => l.split('\t')[0]), ['allow', 'deny', 'error']);
  assert.ok((await complete('entente check --')).some((l) => l.startsWith('--controller\t')));
});

test('an unknown shell is a usage error (exit 2)', { timeout: 60_000 }, async () => {
  const r = await runCli(['completion', 'powershell'], 60_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /completion powershell: expected "bash", "zsh", "fish"/);
});
