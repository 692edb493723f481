import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureDirectory } from '../../../src/clients/docker/measure-directory.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('measureDirectory', () => {
  it('sums file sizes, counting a hard-linked file once and directories not at all', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-measure-'));
    dirs.push(dir);
    await mkdir(path.join(dir, 'a/b'), { recursive: true });
    await writeFile(path.join(dir, 'one'), Buffer.alloc(1000));
    await writeFile(path.join(dir, 'a/b/two'), Buffer.alloc(234));
    await link(path.join(dir, 'one'), path.join(dir, 'a/one-again'));
    await symlink('one', path.join(dir, 'link'));
    expect(await measureDirectory(dir)).toBe(1000 + 234 + 'one'.length);
  });

  it('answers undefined for a directory it cannot read', async () => {
    expect(await measureDirectory('/nonexistent/runnerops')).toBeUndefined();
  });
});
