import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRuntimeRoots } from '../../../src/clients/nix-store/find-runtime-roots.js';

const h = (c: string): string => c.repeat(32);
const isValid = (base: string): boolean => /^[0-9a-z]{32}-[A-Za-z0-9+._?=-]+$/.test(base);

describe('findRuntimeRoots', () => {
  let procDir: string;

  beforeAll(async () => {
    procDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'runnerops-proc-'));
    const pid = path.join(procDir, '123');
    await fs.promises.mkdir(path.join(pid, 'fd'), { recursive: true });
    await fs.promises.symlink(`/nix/store/${h('a')}-bash/bin/bash`, path.join(pid, 'exe'));
    await fs.promises.symlink(`/nix/store/${h('b')}-src`, path.join(pid, 'cwd'));
    await fs.promises.symlink(`/nix/store/${h('c')}-log/out.txt (deleted)`, path.join(pid, 'fd/3'));
    await fs.promises.symlink('socket:[1234]', path.join(pid, 'fd/4'));
    await fs.promises.writeFile(
      path.join(pid, 'maps'),
      [
        `7f00-7f01 r-xp 00000000 08:01 42   /nix/store/${h('d')}-glibc/lib/libc.so.6`,
        `7f01-7f02 r-xp 00000000 08:01 43   /nix/store/${h('e')}-gone/lib/x.so (deleted)`,
        '7f02-7f03 rw-p 00000000 00:00 0    [heap]',
      ].join('\n'),
    );
    await fs.promises.writeFile(path.join(pid, 'environ'), `PATH=/nix/store/${h('f')}-coreutils/bin:/nix/store/${h('g')}-git-2.4/bin\0HOME=/root\0`);
    await fs.promises.mkdir(path.join(procDir, '456'));
    await fs.promises.mkdir(path.join(procDir, 'sys/kernel'), { recursive: true });
    await fs.promises.writeFile(path.join(procDir, 'sys/kernel/modprobe'), `/nix/store/${h('k')}-kmod/bin/modprobe\n`);
  });
  afterAll(async () => {
    await fs.promises.rm(procDir, { recursive: true, force: true });
  });

  it('takes store paths from exe, cwd, open files, mapped files, the environment and kernel helpers', () => {
    const scan = findRuntimeRoots({ storeDir: '/nix/store', isValid, procDir });
    const bases = scan.roots.map((r) => r.base).sort();
    expect(bases).toEqual(
      [`${h('a')}-bash`, `${h('b')}-src`, `${h('c')}-log`, `${h('d')}-glibc`, `${h('f')}-coreutils`, `${h('g')}-git-2.4`, `${h('k')}-kmod`].sort(),
    );
    expect(scan.roots.find((r) => r.base === `${h('f')}-coreutils`)).toMatchObject({ link: path.join(procDir, '123/environ'), kind: 'runtime' });
    expect(scan).toMatchObject({ processes: 2, unreadable: 0, visibility: 'all' });
  });

  it('keeps only paths that are valid', () => {
    const scan = findRuntimeRoots({ storeDir: '/nix/store', isValid: (b) => b.endsWith('-glibc'), procDir });
    expect(scan.roots.map((r) => r.base)).toEqual([`${h('d')}-glibc`]);
  });

  it('says it saw nothing when there is no /proc', () => {
    const scan = findRuntimeRoots({ storeDir: '/nix/store', isValid, procDir: path.join(procDir, 'absent') });
    expect(scan).toMatchObject({ roots: [], visibility: 'none', processes: 0 });
  });

  it('sees a store path in the environment of a real running process', async () => {
    const target = `/nix/store/${h('z')}-runnerops-runtime-test`;
    const child = spawn('sleep', ['60'], { env: { PATH: process.env.PATH, ROOT: target }, stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const scan = findRuntimeRoots({ storeDir: '/nix/store', isValid: (b) => b === path.basename(target) });
      expect(scan.roots).toEqual([{ link: `/proc/${child.pid}/environ`, base: path.basename(target), kind: 'runtime' }]);
      expect(scan.processes).toBeGreaterThan(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
