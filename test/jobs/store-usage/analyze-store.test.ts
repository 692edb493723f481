import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeStore, type StoreAnalysis } from '../../../jobs/store-usage/analyze-store.js';
import { createClosureMeter, measureClosures } from '../../../jobs/store-usage/measure-closure.js';
import { readStoreDb } from '../../../src/clients/nix-store/read-store-db.js';
import {
  createNixTestRoot,
  createRootedStore,
  generateSyntheticStore,
  nixPathInfoAll,
  nixPrintDead,
  startNixDaemon,
  type NixPathInfo,
  type RootedStore,
} from '../../setup/nix-store-fixture.js';
import { defined } from '../../helpers/defined.js';

const execFileAsync = promisify(execFile);

function analyze(rooted: RootedStore, extra: Partial<Parameters<typeof analyzeStore>[0]> = {}): Promise<StoreAnalysis> {
  return analyzeStore({
    stateDir: rooted.store.stateDir,
    storeDir: rooted.store.storeDir,
    nixConfFile: rooted.store.confFile,
    includeDeadPaths: true,
    ...extra,
  });
}

interface ChildOutcome {
  ok: boolean;
  name?: string;
  message?: string;
  source?: string;
  rootsSource?: string;
  fallbackReason?: string;
  deadPaths?: string[];
  warnings?: string[];
  runtimeVisibility?: string;
}

/** Runs the analysis as user `nobody` in a child process. */
async function analyzeAsNobody(rooted: RootedStore): Promise<ChildOutcome> {
  const home = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'runnerops-nobody-'));
  await fs.promises.chmod(home, 0o777);
  try {
    const script = path.join(import.meta.dirname, 'analyze-as-user.ts');
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', script, rooted.store.stateDir, rooted.store.storeDir, rooted.store.confFile], {
      uid: 65534,
      gid: 65534,
      cwd: path.resolve(import.meta.dirname, '../../..'),
      env: { PATH: process.env.PATH, HOME: home, NIX_CONF_DIR: path.dirname(rooted.store.confFile) },
    });
    return JSON.parse(stdout.trim().split('\n').pop()!) as ChildOutcome;
  } finally {
    await fs.promises.rm(home, { recursive: true, force: true });
  }
}

describe('analyzeStore', () => {
  let rooted: RootedStore;
  let analysis: StoreAnalysis;
  let nixDead: string[];
  let pathInfo: NixPathInfo[];

  beforeAll(async () => {
    rooted = await createRootedStore();
    // Ours first: Nix's collector deletes stale auto/ links and temporary-roots files as it goes.
    analysis = await analyze(rooted);
    nixDead = await nixPrintDead(rooted.store);
    pathInfo = await nixPathInfoAll(rooted.store);
  });
  afterAll(async () => {
    await rooted?.store.cleanup();
  });

  it('finds exactly the garbage that nix-store --gc --print-dead finds', () => {
    expect(nixDead.length).toBeGreaterThan(5);
    expect([...analysis.deadPaths!].sort()).toEqual(nixDead);
    expect(analysis.garbage.paths).toBe(nixDead.length);
  });

  it('counts the same paths and NAR bytes as nix path-info --all', () => {
    expect(analysis.paths).toBe(pathInfo.length);
    expect(analysis.narBytes).toBe(pathInfo.reduce((sum, info) => sum + info.narSize, 0));
    const deadBytes = pathInfo.filter((i) => nixDead.includes(i.path)).reduce((sum, i) => sum + i.narSize, 0);
    expect(analysis.garbage.narBytes).toBe(deadBytes);
    expect(analysis.live.paths + analysis.garbage.paths).toBe(analysis.paths);
  });

  it('measures every closure as nix path-info -S does', () => {
    const snapshot = readStoreDb(rooted.store.dbPath);
    const measure = createClosureMeter(snapshot);
    const all = measureClosures(
      snapshot,
      snapshot.paths.map((_, i) => i),
    );
    const expected = new Map(pathInfo.map((i) => [i.path, i.closureSize]));
    snapshot.paths.forEach((p, i) => {
      expect(measure(i).narBytes, p).toBe(expected.get(p));
      expect(all[i]?.narBytes, p).toBe(expected.get(p));
    });
    for (const closure of analysis.largestClosures) expect(closure.closureBytes).toBe(expected.get(closure.path));
  });

  it('keeps a path for each kind of root and ignores stale and invalid ones', () => {
    const live = (name: string): boolean => !analysis.deadPaths!.includes(defined(rooted.built[name], name).out);
    for (const name of ['kept-direct', 'kept-subpath', 'kept-indirect', 'kept-profile', 'kept-profile-old', 'kept-file', 'kept-temp', 'kept-runtime']) {
      expect(live(name), name).toBe(true);
    }
    for (const name of ['dead-leaf', 'dead-chain-a', 'dead-chain-b', 'dead-stale-temp', 'dead-stale-auto']) {
      expect(live(name), name).toBe(false);
    }
    expect(analysis.roots.byKind).toMatchObject({ gcroot: 4, indirect: 1, profile: 2, temporary: 1, runtime: 1 });
    expect(analysis.roots.staleIndirect).toBe(1);
    expect(analysis.roots.invalidTargets).toBe(1);
    expect(analysis.roots.staleTemporaryFiles).toBe(1);
    expect(analysis.roots.source).toBe('files');
    expect(analysis.runtimeRoots).toMatchObject({ visibility: expect.stringMatching(/all|partial/) });
  });

  it('lists the largest paths and closures with their names and what roots them', () => {
    const names = analysis.largestPaths.map((p) => p.name);
    expect(names[0]).toBe('fixture-busybox');
    expect(analysis.largestPaths.find((p) => p.name === 'dead-leaf')).toMatchObject({ live: false });
    expect(names.indexOf('dead-leaf')).toBeLessThan(names.indexOf('app'));
    const top = defined(analysis.largestClosures[0], 'a largest closure');
    expect(top.name).not.toMatch(/^[0-9a-z]{32}-/);
    expect(top.links.length).toBeGreaterThan(0);
    expect(analysis.largestClosures.map((c) => c.closureBytes)).toEqual([...analysis.largestClosures.map((c) => c.closureBytes)].sort((a, b) => b - a));
    expect(analysis.source).toBe('db');
    expect(analysis.disk.totalBytes).toBeGreaterThan(analysis.disk.freeBytes);
  });

  it('follows keep-outputs and keep-derivations as Nix does', async () => {
    for (const settings of [{ keepOutputs: true }, { keepDerivations: false }, { keepOutputs: true, keepDerivations: false }]) {
      const other = await createRootedStore(settings);
      try {
        const ours = await analyze(other);
        const theirs = await nixPrintDead(other.store);
        expect([...ours.deadPaths!].sort(), JSON.stringify(settings)).toEqual(theirs);
        const outLive = !ours.deadPaths!.includes(defined(other.built['drv-rooted-out'], 'drv-rooted-out').out);
        expect(outLive).toBe(settings.keepOutputs === true);
      } finally {
        await other.store.cleanup();
      }
    }
  });

  it('reads the store through the nix daemon when told to, with the same garbage', async () => {
    const other = await createRootedStore();
    try {
      await startNixDaemon(other.store);
      const viaDaemon = await analyze(other, { source: 'daemon' });
      const theirs = await nixPrintDead(other.store);
      expect(viaDaemon.source).toBe('daemon');
      expect(viaDaemon.sourceDetail).toMatch(/^unix:\/\//);
      expect(viaDaemon.roots.source).toBe('daemon');
      expect(viaDaemon.runtimeRoots.visibility).toBe('daemon');
      expect([...viaDaemon.deadPaths!].sort()).toEqual(theirs);
    } finally {
      await other.store.cleanup();
    }
  });

  it('agrees with Nix on a generated store with shared, old and rooted paths', async () => {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'runnerops-synthetic-'));
    const generated = await generateSyntheticStore(dir, { paths: 3000, referencesPerPath: 8, deadFraction: 0.3, packageSetSize: 200 });
    try {
      const ours = await analyzeStore({
        stateDir: generated.store.stateDir,
        storeDir: generated.store.storeDir,
        nixConfFile: generated.store.confFile,
        includeDeadPaths: true,
      });
      const theirs = await nixPrintDead(generated.store);
      expect(ours.paths).toBe(3000);
      expect(ours.references).toBe(generated.references);
      expect([...ours.deadPaths!].sort()).toEqual(theirs);
      expect(theirs).toEqual(generated.dead);
      expect(theirs.length / 3000).toBeGreaterThan(0.2);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  });

  it('says in one line that the store directory does not exist', async () => {
    const error = await analyze(rooted, { storeDir: path.join(rooted.store.root, 'nix/no-store') }).catch((err: Error) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^Nix store directory .*no-store does not exist; check NIX_STORE_DIR/);
    expect((error as Error).message).not.toContain('\n');
  });

  it('says in one line when there are neither GC roots nor a daemon to ask', async () => {
    const empty = await createNixTestRoot();
    try {
      await fs.promises.rm(path.join(empty.stateDir, 'gcroots'), { recursive: true });
      const error = await analyzeStore({ stateDir: empty.stateDir, storeDir: empty.storeDir }).catch((err: Error) => err);
      expect((error as Error).message).toMatch(/^no GC roots directory .* and no nix daemon at .*; set NIX_STATE_DIR/);
    } finally {
      await empty.cleanup();
    }
  });

  it('says in one line when the worker may not read the store or the database', async () => {
    const other = await createRootedStore();
    try {
      // The store root is private (mkdtemp): nobody cannot reach the store directory.
      const blocked = await analyzeAsNobody(other);
      expect(blocked).toMatchObject({ ok: false, name: 'StoreReadError' });
      expect(blocked.message).toMatch(/^cannot read Nix store directory .*: permission denied; run the worker as a user that may read it$/);

      await fs.promises.chmod(other.store.root, 0o755);
      await fs.promises.chmod(other.store.dbPath, 0o600);
      const noDb = await analyzeAsNobody(other);
      expect(noDb).toMatchObject({ ok: false, name: 'StoreReadError' });
      expect(noDb.message).toMatch(/^cannot read the Nix database .*db\.sqlite: permission denied; run the worker as a user that may read it$/);

      // Readable, but in WAL mode with no -shm file (no Nix process has it open) in a directory
      // nobody may write: SQLite cannot open it without `immutable`, which is unsafe on a live store.
      await fs.promises.chmod(other.store.dbPath, 0o644);
      expect(fs.existsSync(`${other.store.dbPath}-shm`)).toBe(false);
      const noShm = await analyzeAsNobody(other);
      expect(noShm).toMatchObject({ ok: false, name: 'StoreReadError' });
      expect(noShm.message).toMatch(
        /^cannot open the Nix database .*db\.sqlite read-only: no Nix process has it open, so its -wal and -shm files are missing .*; run the worker as root or let it ask the nix daemon$/,
      );
    } finally {
      await other.store.cleanup();
    }
  });

  it('tells an unprivileged worker which roots and processes it could not see', async () => {
    const other = await createRootedStore();
    try {
      await fs.promises.chmod(other.store.root, 0o755);
      await fs.promises.chmod(path.join(other.store.stateDir, 'gcroots/nested'), 0o700);
      // As on a live host, where Nix has the database open: its -wal and -shm files exist.
      readStoreDb(other.store.dbPath);
      const outcome = await analyzeAsNobody(other);
      expect(outcome).toMatchObject({ ok: true, source: 'db', rootsSource: 'files', runtimeVisibility: 'partial' });
      expect(outcome.warnings).toContainEqual(
        expect.stringMatching(/^1 potential GC root\(s\) could not be read \(first: .*gcroots\/nested: permission denied\); garbage may be overstated$/),
      );
      expect(outcome.warnings).toContainEqual(expect.stringMatching(/^could not read the open files of \d+ of \d+ processes/));
      // The unseen root's path now counts as garbage: the warning is why.
      expect(outcome.deadPaths).toContain(defined(other.built['kept-subpath'], 'kept-subpath').out);
    } finally {
      await other.store.cleanup();
    }
  });

  it('reports an empty store as empty', async () => {
    const empty = await createNixTestRoot();
    try {
      const result = await analyzeStore({ stateDir: empty.stateDir, storeDir: empty.storeDir, nixConfFile: empty.confFile });
      expect(result).toMatchObject({ paths: 0, narBytes: 0, garbage: { paths: 0, narBytes: 0 }, largestPaths: [], largestClosures: [] });
    } finally {
      await empty.cleanup();
    }
  });

  it('falls back to the nix daemon when the worker may not read the database, and says so', async () => {
    const other = await createRootedStore();
    try {
      await startNixDaemon(other.store);
      await fs.promises.chmod(other.store.root, 0o755);
      await fs.promises.chmod(other.store.dbPath, 0o600);
      const outcome = await analyzeAsNobody(other);
      const theirs = await nixPrintDead(other.store);
      expect(outcome).toMatchObject({ ok: true, source: 'daemon', rootsSource: 'daemon' });
      expect(outcome.fallbackReason).toMatch(/permission denied/);
      expect([...outcome.deadPaths!].sort()).toEqual(theirs);
    } finally {
      await other.store.cleanup();
    }
  });
});
