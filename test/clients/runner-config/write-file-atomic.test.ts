import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { updateFileAtomic, writeFileAtomic } from '../../../src/clients/runner-config/write-file-atomic.js';
import { TransientJobError } from '../../../src/errors.js';

const exec = promisify(execFile);
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('updateFileAtomic', () => {
  it('replaces the file with mode 0600 and the owner it had, leaving no temp file', async () => {
    const file = path.join(dir, 'config.toml');
    await writeFile(file, 'a = 1\n', { mode: 0o644 });
    await chown(file, 1234, 2345);
    await updateFileAtomic(file, (current) => `${current ?? ''}b = 2\n`);
    const info = await stat(file);
    expect({ mode: info.mode & 0o777, uid: info.uid, gid: info.gid }).toEqual({ mode: 0o600, uid: 1234, gid: 2345 });
    expect(await readFile(file, 'utf8')).toBe('a = 1\nb = 2\n');
    expect(await readdir(dir)).toEqual(['config.toml']);
  });

  it('gives a new file the owner of its directory', async () => {
    await chown(dir, 1111, 2222);
    const file = path.join(dir, 'new.env');
    await writeFileAtomic(file, 'X=1\n');
    const info = await stat(file);
    expect({ mode: info.mode & 0o777, uid: info.uid, gid: info.gid }).toEqual({ mode: 0o600, uid: 1111, gid: 2222 });
  });

  it('applies the change again on top of what another process wrote between read and rename', async () => {
    const file = path.join(dir, 'config.toml');
    await writeFile(file, 'lines = ["first"]\n');
    let calls = 0;
    const written = await updateFileAtomic(file, (current) => current!.replace(']', ', "ours"]'), {
      beforeRename: async () => {
        if (calls++ === 0) await exec('/bin/sh', ['-c', `printf 'lines = ["first", "theirs"]\\n' > '${file}'`]);
      },
    });
    expect(written).toBe('lines = ["first", "theirs", "ours"]\n');
    expect(await readFile(file, 'utf8')).toBe(written);
    expect(await readdir(dir)).toEqual(['config.toml']);
  });

  it('gives up with a transient error when the file keeps changing', async () => {
    const file = path.join(dir, 'busy.toml');
    await writeFile(file, 'n = 0\n');
    let n = 0;
    const err = await updateFileAtomic(file, (c) => `${c}x = 1\n`, { maxRounds: 3, beforeRename: () => writeFile(file, `n = ${++n}\n`) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransientJobError);
    expect((err as Error).message).toBe(`${file} kept changing while it was being written (3 tries); try again`);
    expect(await readdir(dir)).toEqual(['busy.toml']);
  });

  it('leaves the file untouched and no temp file when the transform throws', async () => {
    const file = path.join(dir, 'config.toml');
    await writeFile(file, 'keep = true\n');
    await expect(
      updateFileAtomic(file, () => {
        throw new Error('bad');
      }),
    ).rejects.toThrow('bad');
    await expect(
      updateFileAtomic(file, (c) => `${c}`, {
        beforeRename: async () => {
          throw new Error('hook');
        },
      }),
    ).rejects.toThrow('hook');
    expect(await readFile(file, 'utf8')).toBe('keep = true\n');
    expect(await readdir(dir)).toEqual(['config.toml']);
  });
});

describe('writeFileAtomic into a directory that does not exist', () => {
  it('names the directory and the setting to check', async () => {
    const file = '/nonexistent-runnerops-dir/gitlab-runner/config.toml';
    await expect(writeFileAtomic(file, 'x')).rejects.toThrow(
      '/nonexistent-runnerops-dir/gitlab-runner does not exist; create it or check GITLAB_RUNNER_CONFIG / the token paths on this host',
    );
  });
});
