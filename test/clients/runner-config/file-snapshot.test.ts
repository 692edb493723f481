import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { restoreSnapshots, snapshotFiles } from '../../../src/clients/runner-config/file-snapshot.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('restoreSnapshots', () => {
  it('puts back exact bytes and mode, removes files that did not exist and leaves no temp file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-snap-'));
    dirs.push(dir);
    const kept = path.join(dir, 'config.toml');
    const created = path.join(dir, 'new.env');
    const bytes = Buffer.from([0x23, 0x0d, 0x0a, 0xff, 0x00, 0x41]);
    await writeFile(kept, bytes);
    await chmod(kept, 0o640);
    const snapshots = await snapshotFiles([kept, created, kept]);
    expect(snapshots).toHaveLength(2);
    await writeFile(kept, 'changed');
    await chmod(kept, 0o600);
    await writeFile(created, 'CI_SERVER_TOKEN=x\n');
    expect(await restoreSnapshots(snapshots)).toEqual([]);
    expect((await readFile(kept)).equals(bytes)).toBe(true);
    expect((await stat(kept)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['config.toml']);
  });
});
