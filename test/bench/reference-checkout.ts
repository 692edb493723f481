import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
/** The helper scripts a reference runs from its own tree, so they import its code, not this one's. */
const HELPERS = ['start-child.ts', 'bot-process.ts', 'worker-pool.ts'];

/** A tree of an earlier commit that benchmarks run beside this one, with this checkout's node_modules. */
export interface ReferenceCheckout {
  commit: string;
  /** Its test/bench folder, for `startChild(..., { dir })`. */
  benchDir: string;
  remove: () => Promise<void>;
}

/**
 * Checks `commit` out into a temporary git worktree, links this checkout's node_modules into it and
 * copies the bench's helper scripts in. Resolves with a one-line reason instead when it cannot (no git,
 * a clone without that commit).
 */
export async function checkoutReference(commit: string): Promise<ReferenceCheckout | string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-reference-'));
  try {
    await run('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, commit]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const reason = (err as { stderr?: string }).stderr?.trim().split('\n').at(-1) ?? String(err);
    return `cannot check out ${commit} (${reason})`;
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  await mkdir(path.join(dir, 'test/bench'), { recursive: true });
  for (const helper of HELPERS) await copyFile(path.join(ROOT, 'test/bench', helper), path.join(dir, 'test/bench', helper));
  return {
    commit,
    benchDir: path.join(dir, 'test/bench'),
    remove: async () => {
      await run('git', ['-C', ROOT, 'worktree', 'remove', '--force', dir]).catch(() => rm(dir, { recursive: true, force: true }));
    },
  };
}
