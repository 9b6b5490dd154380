// The Git commit a resource directory is checked out at, so that a region can
// say which commit it enforces. Asks git itself (packed refs, worktrees and
// detached heads are git's business, not ours); undefined when the directory
// is not a checkout, git is not installed, or git refuses (e.g. a repository
// owned by another user).
import { execFile } from 'node:child_process';

function git(dir: string, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['-C', dir, ...args], { timeout: 5000, maxBuffer: 1 << 20, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }, (err, stdout) => {
      resolve(err ? undefined : stdout);
    });
  });
}

/**
 * "<commit>" or "<commit>-dirty" when files under `dir` differ from it
 * (modified, deleted, or untracked: an untracked policy file is enforced but
 * in no commit); undefined when unknown, or when git tracks nothing under
 * `dir` (a directory that merely sits inside some other checkout).
 */
export async function resourceCommit(dir: string): Promise<string | undefined> {
  const head = (await git(dir, ['rev-parse', '--verify', 'HEAD']))?.trim();
  if (head === undefined || !/^[0-9a-f]{40,64}$/.test(head)) return undefined;
  const tracked = await git(dir, ['ls-files', '--', '.']);
  if (tracked === undefined || tracked.trim().length === 0) return undefined;
  // Only this directory's files count: the checkout may hold much more than policy.
  const changes = await git(dir, ['status', '--porcelain', '--untracked-files=normal', '--', '.']);
  return changes !== undefined && changes.trim().length > 0 ? `${head}-dirty` : head;
}
