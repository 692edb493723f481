/**
 * Real Nix stores for tests and benchmarks, built with Debian's nix-bin in a store root of their own
 * (`nix-store --store <root>`: paths are still /nix/store/... but live under <root>/nix/store, the
 * database under <root>/nix/var/nix/db). Substituters are switched off so nothing leaves the machine.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { defined } from '../helpers/defined.js';

const execFileAsync = promisify(execFile);

/** The logical store directory every test store uses (the real files are under `<root>/nix/store`). */
export const LOGICAL_STORE_DIR = '/nix/store';

export interface NixTestRootOptions {
  /** Directory to use as the store root; created when missing. @defaultValue a new temporary directory */
  dir?: string;
  /** `keep-outputs` in the root's nix.conf. @defaultValue unset (Nix's default: false) */
  keepOutputs?: boolean;
  /** `keep-derivations` in the root's nix.conf. @defaultValue unset (Nix's default: true) */
  keepDerivations?: boolean;
}

export interface NixTestRoot {
  /** The store root given to `--store`. */
  root: string;
  /** `<root>/nix/var/nix`: db, gcroots, profiles, temproots. */
  stateDir: string;
  /** `<root>/nix/store`: where the store's files really are. */
  storeDir: string;
  dbPath: string;
  /** nix.conf of this root (NIX_CONF_DIR for every nix command run here). */
  confFile: string;
  /** Runs a nix program against this root (adds `--store <root>`) and returns its stdout. */
  run: (program: 'nix-store' | 'nix' | 'nix-instantiate' | 'nix-env', args: string[]) => Promise<string>;
  /** Stops every process this root started and deletes the root. */
  cleanup: () => Promise<void>;
  /** Processes started for this root (temporary and runtime roots); `cleanup` ends them. */
  processes: ChildProcess[];
}

/** Creates an empty store root whose database Nix itself initialised. */
export async function createNixTestRoot(options: NixTestRootOptions = {}): Promise<NixTestRoot> {
  const root = options.dir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'runnerops-nix-')));
  const confDir = path.join(root, 'etc-nix');
  await fs.promises.mkdir(confDir, { recursive: true });
  const conf = ['substituters =', 'require-sigs = false'];
  if (options.keepOutputs !== undefined) conf.push(`keep-outputs = ${options.keepOutputs}`);
  if (options.keepDerivations !== undefined) conf.push(`keep-derivations = ${options.keepDerivations}`);
  const confFile = path.join(confDir, 'nix.conf');
  await fs.promises.writeFile(confFile, `${conf.join('\n')}\n`);
  const env = { ...process.env, NIX_CONF_DIR: confDir };
  const processes: ChildProcess[] = [];

  const run: NixTestRoot['run'] = async (program, args) => {
    const full = program === 'nix' ? ['--extra-experimental-features', 'nix-command', ...args] : args;
    const { stdout } = await execFileAsync(program, [...full, '--store', root], {
      env,
      maxBuffer: 1 << 30,
    });
    return stdout;
  };

  // Any command that opens the store creates the schema, gcroots, profiles and temproots.
  await run('nix', ['path-info', '--all']);
  return {
    root,
    stateDir: path.join(root, 'nix/var/nix'),
    storeDir: path.join(root, 'nix/store'),
    dbPath: path.join(root, 'nix/var/nix/db/db.sqlite'),
    confFile,
    run,
    processes,
    cleanup: async () => {
      stopProcesses(processes);
      await fs.promises.rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Ends the processes a root started, each with its whole process group (flock's shell and sleep,
 * the daemon's per-connection workers): they are started detached, as group leaders, for this.
 */
function stopProcesses(processes: ChildProcess[]): void {
  for (const child of processes.splice(0)) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
}

/** A derivation to build: its output refers to the outputs of `refs` (names of earlier specs). */
export interface DerivationSpec {
  name: string;
  /** Names of earlier specs whose outputs this output refers to. @defaultValue none */
  refs?: string[];
  /** Output is a directory with `bin/<name>` instead of a single file. @defaultValue false */
  dir?: boolean;
  /** Extra bytes of output, to make sizes differ. @defaultValue 0 */
  padding?: number;
}

export interface BuiltDerivation {
  drv: string;
  out: string;
}

/**
 * Builds derivations for real (nix-instantiate + nix-store --realise in the root's sandbox), with a
 * static busybox as builder. Returns each spec's .drv and output path. Nothing is rooted.
 */
export async function buildDerivations(store: NixTestRoot, specs: DerivationSpec[]): Promise<{ busybox: string; built: Record<string, BuiltDerivation> }> {
  const busybox = await addBusybox(store);
  const lines = [
    `let bb = builtins.storePath "${busybox}";`,
    '  mk = name: script: derivation { inherit name; system = builtins.currentSystem; builder = "${bb}/bin/busybox"; args = [ "sh" "-c" script ]; };',
    'in rec {',
  ];
  for (const spec of specs) {
    const refs = (spec.refs ?? []).map((r) => `\${${attr(r)}}`).join(' ');
    const pad = spec.padding ? `; head -c ${spec.padding} /dev/zero >> $out` : '';
    const script = spec.dir
      ? `mkdir -p $out/bin; echo ${spec.name} ${refs} > $out/bin/${spec.name}${pad.replace('$out', `$out/bin/${spec.name}`)}`
      : `echo ${spec.name} ${refs} > $out${pad}`;
    lines.push(`  ${attr(spec.name)} = mk "${spec.name}" "${script.replaceAll('$out', '\\$out')}";`);
  }
  lines.push('}');
  const exprFile = path.join(store.root, 'fixture.nix');
  await fs.promises.writeFile(exprFile, lines.join('\n'));
  const attrs = specs.flatMap((s) => ['-A', attr(s.name)]);
  const drvs = (await store.run('nix-instantiate', [exprFile, ...attrs])).trim().split('\n');
  const outs = (await store.run('nix-store', ['--realise', ...drvs])).trim().split('\n');
  const built: Record<string, BuiltDerivation> = {};
  specs.forEach((spec, i) => {
    built[spec.name] = { drv: defined(drvs[i], `the derivation of ${spec.name}`), out: defined(outs[i], `the output of ${spec.name}`) };
  });
  return { busybox, built };
}

function attr(name: string): string {
  return `p_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Adds a directory with a static busybox (and a random file, so its path is unique to this root). */
async function addBusybox(store: NixTestRoot): Promise<string> {
  const dir = path.join(store.root, 'fixture-busybox');
  await fs.promises.mkdir(path.join(dir, 'bin'), { recursive: true });
  await fs.promises.copyFile(await findStaticBusybox(), path.join(dir, 'bin/busybox'));
  await fs.promises.writeFile(path.join(dir, 'token'), randomBytes(16).toString('hex'));
  return (await store.run('nix-store', ['--add', dir])).trim();
}

async function findStaticBusybox(): Promise<string> {
  for (const candidate of ['/bin/busybox', '/usr/bin/busybox']) {
    try {
      const { stdout, stderr } = await execFileAsync('ldd', [candidate]).catch((err: { stdout: string; stderr: string }) => err);
      if (`${stdout}${stderr}`.includes('not a dynamic')) return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error('no static busybox found; run bash test/setup/ensure-system.sh');
}

/** A direct root: `<stateDir>/gcroots/<name>` -> target (a store path or a file below one). */
export async function addDirectRoot(store: NixTestRoot, name: string, target: string): Promise<string> {
  const link = path.join(store.stateDir, 'gcroots', name);
  await fs.promises.mkdir(path.dirname(link), { recursive: true });
  await fs.promises.symlink(target, link);
  return link;
}

/** An indirect root made by Nix itself: `link` -> storePath, plus `gcroots/auto/<hash>` -> link. */
export async function addIndirectRoot(store: NixTestRoot, link: string, storePath: string): Promise<string> {
  await fs.promises.mkdir(path.dirname(link), { recursive: true });
  await store.run('nix-store', ['--realise', storePath, '--add-root', link]);
  return link;
}

/** Points a profile at a store path with `nix-env --set` (a new generation each time). */
export async function setProfile(store: NixTestRoot, profile: string, storePath: string): Promise<string> {
  const full = path.join(store.stateDir, 'profiles', profile);
  await fs.promises.mkdir(path.dirname(full), { recursive: true });
  await store.run('nix-env', ['-p', full, '--set', storePath]);
  return full;
}

/**
 * Temporary roots the way a running Nix process holds them: a `temproots/<number>` file listing
 * the paths, kept locked by a live process (flock), which `cleanup` ends.
 */
export async function holdTemporaryRoots(store: NixTestRoot, storePaths: string[]): Promise<string> {
  const file = path.join(store.stateDir, 'temproots', String(4_000_000 + Math.floor(Math.random() * 1_000_000)));
  await fs.promises.writeFile(file, storePaths.map((p) => `${p}\0`).join(''));
  const child = spawn('flock', ['--shared', file, 'sh', '-c', 'echo locked; exec sleep 600'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  store.processes.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited with ${code}`)));
  });
  return file;
}

/** A temporary-roots file left by a process that died: no lock on it, so it roots nothing. */
export async function addStaleTemporaryRoots(store: NixTestRoot, storePaths: string[]): Promise<string> {
  const file = path.join(store.stateDir, 'temproots', String(3_000_000 + Math.floor(Math.random() * 1_000_000)));
  await fs.promises.writeFile(file, storePaths.map((p) => `${p}\0`).join(''));
  return file;
}

/** A runtime root: a live process with a store path in its environment, as /proc/<pid>/environ shows. */
export async function startRuntimeRoot(store: NixTestRoot, storePath: string): Promise<ChildProcess> {
  const child = spawn('sleep', ['600'], {
    env: { PATH: process.env.PATH, RUNNEROPS_FIXTURE_ROOT: storePath },
    stdio: 'ignore',
    detached: true,
  });
  store.processes.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return child;
}

/** `nix-store --gc --print-dead`: what Nix would delete, sorted. */
export async function nixPrintDead(store: NixTestRoot): Promise<string[]> {
  const out = await store.run('nix-store', ['--gc', '--print-dead']);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .sort();
}

export interface NixPathInfo {
  path: string;
  narSize: number;
  closureSize: number;
  references: string[];
  deriver?: string;
}

/** `nix path-info --all -S --json`: every valid path with its NAR and closure size. */
export async function nixPathInfoAll(store: NixTestRoot): Promise<NixPathInfo[]> {
  return JSON.parse(await store.run('nix', ['path-info', '--all', '--json', '-S'])) as NixPathInfo[];
}

/** A built store with a root of every kind Nix knows, some garbage, and the names of what is where. */
export interface RootedStore {
  store: NixTestRoot;
  built: Record<string, BuiltDerivation>;
  busybox: string;
  /** Root links by what they are. */
  links: {
    direct: string;
    subpath: string;
    indirect: string;
    profile: string;
    regularFile: string;
    temporary: string;
    staleTemporary: string;
    staleIndirect: string;
    invalid: string;
    derivation: string;
  };
  /** The process holding the runtime root. */
  runtimePid: number;
}

/** The derivations of `createRootedStore`: what roots them is in the name. */
export const ROOTED_STORE_SPECS: DerivationSpec[] = [
  { name: 'core', padding: 3000 },
  { name: 'lib', refs: ['core'], dir: true, padding: 1000 },
  { name: 'app', refs: ['lib'], dir: true, padding: 5000 },
  { name: 'tool', refs: ['core'] },
  { name: 'kept-direct', refs: ['app'] },
  { name: 'kept-subpath', refs: ['lib'], dir: true },
  { name: 'kept-indirect', refs: ['tool'] },
  { name: 'kept-profile-old', refs: ['core'] },
  { name: 'kept-profile', refs: ['tool', 'lib'] },
  { name: 'kept-file' },
  { name: 'kept-temp', refs: ['core'] },
  { name: 'kept-runtime', refs: ['lib'] },
  { name: 'drv-rooted-out', refs: ['core'] },
  { name: 'dead-leaf', padding: 7000 },
  { name: 'dead-chain-a', refs: ['dead-leaf'] },
  { name: 'dead-chain-b', refs: ['dead-chain-a', 'app'], dir: true },
  { name: 'dead-stale-temp' },
  { name: 'dead-stale-auto', refs: ['tool'] },
];

/**
 * Builds `ROOTED_STORE_SPECS` and roots them the way Nix users do: a gcroots symlink to a path and
 * one into a path, an indirect root made by `--add-root`, two profile generations from `nix-env
 * --set`, a regular file in gcroots named like a path, a live temporary-roots file, a process with
 * a path in its environment, and a gcroots link to a .drv. Plus what must not count: a stale
 * temporary-roots file, an auto/ root whose link is gone, a link to a path that is not valid.
 */
export async function createRootedStore(options: NixTestRootOptions = {}): Promise<RootedStore> {
  const store = await createNixTestRoot(options);
  const { busybox, built } = await buildDerivations(store, ROOTED_STORE_SPECS);
  const out = (name: string): string => defined(built[name], name).out;
  const direct = await addDirectRoot(store, 'kept-direct', out('kept-direct'));
  const subpath = await addDirectRoot(store, 'nested/dir/kept-subpath', `${out('kept-subpath')}/bin/kept-subpath`);
  const indirect = await addIndirectRoot(store, path.join(store.root, 'home/result'), out('kept-indirect'));
  await setProfile(store, 'per-user/ci/profile', out('kept-profile-old'));
  const profile = await setProfile(store, 'per-user/ci/profile', out('kept-profile'));
  const regularFile = path.join(store.stateDir, 'gcroots', path.basename(out('kept-file')));
  await fs.promises.writeFile(regularFile, '');
  const temporary = await holdTemporaryRoots(store, [out('kept-temp')]);
  const staleTemporary = await addStaleTemporaryRoots(store, [out('dead-stale-temp')]);
  const gone = path.join(store.root, 'home/gone');
  await addIndirectRoot(store, gone, out('dead-stale-auto'));
  await fs.promises.unlink(gone);
  const staleIndirect = gone;
  const invalid = await addDirectRoot(store, 'invalid', `${LOGICAL_STORE_DIR}/${'0'.repeat(32)}-not-valid`);
  const derivation = await addDirectRoot(store, 'drv-rooted', defined(built['drv-rooted-out'], 'drv-rooted-out').drv);
  const runtime = await startRuntimeRoot(store, out('kept-runtime'));
  return {
    store,
    built,
    busybox,
    links: { direct, subpath, indirect, profile, regularFile, temporary, staleTemporary, staleIndirect, invalid, derivation },
    runtimePid: runtime.pid!,
  };
}

/**
 * Starts a nix-daemon serving `store` on `<stateDir>/daemon-socket/socket` (socket mode 0666, so
 * other users can connect, as on a real host). `cleanup` of the store stops it.
 */
export async function startNixDaemon(store: NixTestRoot): Promise<string> {
  const socket = path.join(store.stateDir, 'daemon-socket/socket');
  const child = spawn('nix-daemon', ['--store', store.root], {
    env: { ...process.env, NIX_CONF_DIR: path.dirname(store.confFile), NIX_DAEMON_SOCKET_PATH: socket },
    stdio: 'ignore',
    detached: true,
  });
  store.processes.push(child);
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(socket)) return socket;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('nix-daemon did not create its socket within 5 s');
}

// ---------------------------------------------------------------------------------------------
// Generated stores: many paths, written straight into the database Nix created.

export interface SyntheticStoreOptions {
  /** Number of valid paths. */
  paths: number;
  /** Average references per path. */
  referencesPerPath: number;
  /** Share of paths that are garbage. */
  deadFraction: number;
  /** Packages in one package set (one nixpkgs revision). @defaultValue 3000 */
  packageSetSize?: number;
  /** Seed for the generator. @defaultValue 1 */
  seed?: number;
}

export interface SyntheticStore {
  store: NixTestRoot;
  /** The garbage by construction (full store paths, sorted). */
  dead: string[];
  paths: number;
  references: number;
  /** Seconds it took to generate, or 0 when it came from the cache. */
  generatedSeconds: number;
}

const GENERATOR_VERSION = 5;

/**
 * A store of `paths` valid paths with about `paths * referencesPerPath` references of which about
 * `deadFraction` are garbage (see `generateGraph`), in Nix's own database schema. Entries on disk
 * are tiny files whose NAR hash and size are recorded truthfully. `dead` is the garbage by
 * construction, for Nix's keep-derivations default. Generated once into `dir` and reused while the
 * options match.
 */
export async function generateSyntheticStore(dir: string, options: SyntheticStoreOptions): Promise<SyntheticStore> {
  const marker = path.join(dir, 'generated.json');
  const wanted = JSON.stringify({ version: GENERATOR_VERSION, ...options, seed: options.seed ?? 1 });
  const cached = await fs.promises.readFile(marker, 'utf8').catch(() => undefined);
  if (cached !== undefined) {
    const meta = JSON.parse(cached) as { options: string; references: number };
    if (meta.options === wanted) {
      const store = await openExistingRoot(dir);
      const dead = (await fs.promises.readFile(path.join(dir, 'dead.txt'), 'utf8')).split('\n').filter(Boolean);
      return { store, dead, paths: options.paths, references: meta.references, generatedSeconds: 0 };
    }
  }
  const started = process.hrtime.bigint();
  await fs.promises.rm(dir, { recursive: true, force: true });
  await fs.promises.mkdir(dir, { recursive: true });
  const store = await createNixTestRoot({ dir });
  const graph = generateGraph(options);
  await writeSyntheticStore(store, graph);
  const dead = graph.nodes
    .filter((n) => !n.live)
    .map((n) => `${LOGICAL_STORE_DIR}/${n.base}`)
    .sort();
  await fs.promises.writeFile(path.join(dir, 'dead.txt'), dead.join('\n'));
  await fs.promises.writeFile(marker, JSON.stringify({ options: wanted, references: graph.references }));
  const generatedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { store, dead, paths: options.paths, references: graph.references, generatedSeconds };
}

async function openExistingRoot(dir: string): Promise<NixTestRoot> {
  const confFile = path.join(dir, 'etc-nix/nix.conf');
  const env = { ...process.env, NIX_CONF_DIR: path.dirname(confFile) };
  const processes: ChildProcess[] = [];
  return {
    root: dir,
    stateDir: path.join(dir, 'nix/var/nix'),
    storeDir: path.join(dir, 'nix/store'),
    dbPath: path.join(dir, 'nix/var/nix/db/db.sqlite'),
    confFile,
    processes,
    run: async (program, args) => {
      const full = program === 'nix' ? ['--extra-experimental-features', 'nix-command', ...args] : args;
      const { stdout } = await execFileAsync(program, [...full, '--store', dir], { env, maxBuffer: 1 << 30 });
      return stdout;
    },
    cleanup: async () => {
      stopProcesses(processes);
    },
  };
}

interface SyntheticNode {
  base: string;
  live: boolean;
  isDrv: boolean;
  /** Index of this output's derivation node, or -1 (then `deriverBase` names a drv that is not valid). */
  drv: number;
  deriverBase?: string;
  refs: number[];
  rootKind?: 'profile' | 'direct' | 'indirect';
}

interface SyntheticGraph {
  nodes: SyntheticNode[];
  references: number;
}

/** A small deterministic PRNG (mulberry32). */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

/** Nix's base32 (least significant 5 bits last), as in a store path's hash part. */
export function toNixBase32(bytes: Uint8Array): string {
  const len = Math.ceil((bytes.length * 8) / 5);
  let out = '';
  for (let n = len - 1; n >= 0; n--) {
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    const c = (bytes[i]! >> j) | (i >= bytes.length - 1 ? 0 : (bytes[i + 1]! << (8 - j)) & 0xff);
    out += NIX_BASE32[c & 0x1f];
  }
  return out;
}

function hashPartFor(seed: number, i: number): string {
  return toNixBase32(createHash('sha256').update(`runnerops-synthetic:${seed}:${i}`).digest().subarray(0, 20));
}

/**
 * The store of a CI host that has built from many revisions of a package set: each revision
 * replaces about 30% of the set's packages (the rest are shared store paths), a package refers to
 * packages lower in the set (mostly the core: glibc, bash...), 40% of packages were built here and
 * have their .drv (referring to the input .drvs), the others were substituted (their deriver is not
 * valid). The newest revisions are rooted by environments (profile, gcroot, auto/ result link) until
 * the live share is reached; what only older revisions use is garbage, and old garbage refers to
 * live paths, as on a real host.
 */
function generateGraph(options: SyntheticStoreOptions): SyntheticGraph {
  const seed = options.seed ?? 1;
  const random = createRandom(seed);
  const slots = options.packageSetSize ?? 3000;
  const nodes: SyntheticNode[] = [];
  let references = 0;
  const currentOut = new Int32Array(slots).fill(-1);
  const currentDrv = new Int32Array(slots).fill(-1);
  const revisions: Int32Array[] = [];
  const envBudget = Math.ceil(options.paths / 250);

  const addNode = (node: SyntheticNode): number => {
    nodes.push(node);
    references += node.refs.length;
    return nodes.length - 1;
  };
  let revision = 0;
  const bodySize = options.paths - envBudget;
  while (nodes.length < bodySize - 1) {
    for (let slot = 0; slot < slots && nodes.length < bodySize - 1; slot++) {
      if (currentOut[slot] !== -1 && random() >= 0.3) continue;
      const pname = `pkg${slot}-${revision}.${slot % 10}`;
      const degree = Math.min(slot, Math.floor(-Math.log(1 - random()) * options.referencesPerPath * 1.3));
      const picked = new Set<number>();
      for (let k = 0; k < degree; k++) picked.add(Math.floor(slot * random() * random()));
      const outRefs = [...picked].map((k) => currentOut[k]!);
      let drv = -1;
      if (random() < 0.4) {
        const drvRefs = [...picked].map((k) => currentDrv[k]!).filter((d) => d >= 0);
        drv = addNode({ base: `${hashPartFor(seed, nodes.length)}-${pname}.drv`, live: false, isDrv: true, drv: -1, refs: drvRefs });
      }
      const index = nodes.length;
      if (random() < 0.1) outRefs.push(index);
      addNode({
        base: `${hashPartFor(seed, index)}-${pname}`,
        live: false,
        isDrv: false,
        drv,
        deriverBase: drv === -1 ? `${hashPartFor(seed + 1, index)}-${pname}.drv` : undefined,
        refs: outRefs,
      });
      currentOut[slot] = index;
      currentDrv[slot] = drv;
    }
    revisions.push(currentOut.slice());
    revision++;
  }

  // Root the newest revisions (skipping a few) until the live share is reached.
  const kinds: Array<SyntheticNode['rootKind']> = ['profile', 'direct', 'indirect'];
  const wantLive = Math.round(options.paths * (1 - options.deadFraction));
  let liveCount = 0;
  const markFrom = (start: number): void => {
    const stack = [start];
    while (stack.length > 0) {
      const i = stack.pop()!;
      if (nodes[i]!.live) continue;
      nodes[i]!.live = true;
      liveCount++;
      for (const r of nodes[i]!.refs) if (!nodes[r]!.live) stack.push(r);
      const drv = nodes[i]!.drv;
      if (drv >= 0 && !nodes[drv]!.live) stack.push(drv);
    }
  };
  for (let r = revisions.length - 1; r >= 0 && liveCount < wantLive; r--) {
    if (r < revisions.length - 1 && random() < 0.1) continue;
    const outs = revisions[r]!;
    for (const kind of kinds) {
      if (liveCount >= wantLive || nodes.length >= options.paths) break;
      const picked = new Set<number>();
      for (let k = 0; k < 120; k++) picked.add(outs[slots - 1 - Math.floor(slots * random() * random())]!);
      const index = addNode({
        base: `${hashPartFor(seed, nodes.length)}-ci-env-${r}-${kind}`,
        live: false,
        isDrv: false,
        drv: -1,
        deriverBase: `${hashPartFor(seed + 1, nodes.length)}-ci-env-${r}.drv`,
        refs: [...picked],
        rootKind: kind,
      });
      markFrom(index);
    }
  }
  // Fill up with unreferenced leftovers (sources, logs of old builds): garbage.
  while (nodes.length < options.paths) {
    const index = nodes.length;
    addNode({ base: `${hashPartFor(seed, index)}-source-${index}`, live: false, isDrv: false, drv: -1, refs: [] });
  }
  return { nodes, references };
}

function narOfFile(contents: Buffer): Buffer {
  const parts: Buffer[] = [];
  const str = (s: Buffer | string): void => {
    const b = typeof s === 'string' ? Buffer.from(s) : s;
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(b.length));
    parts.push(len, b, Buffer.alloc((8 - (b.length % 8)) % 8));
  };
  for (const s of ['nix-archive-1', '(', 'type', 'regular', 'contents']) str(s);
  str(contents);
  str(')');
  return Buffer.concat(parts);
}

async function writeSyntheticStore(store: NixTestRoot, graph: SyntheticGraph): Promise<void> {
  const { nodes } = graph;
  const db = new Database(store.dbPath);
  db.pragma('synchronous = OFF');
  const insertPath = db.prepare('INSERT INTO ValidPaths (id, path, hash, registrationTime, deriver, narSize, ultimate) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertRef = db.prepare('INSERT INTO Refs (referrer, reference) VALUES (?, ?)');
  const insertOutput = db.prepare('INSERT INTO DerivationOutputs (drv, id, path) VALUES (?, ?, ?)');
  const now = Math.floor(Date.now() / 1000);
  const registered = new Array<{ hash: string; size: number }>(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const contents = Buffer.from(`${nodes[i]!.base}\n`);
    const nar = narOfFile(contents);
    registered[i] = { hash: `sha256:${createHash('sha256').update(nar).digest('hex')}`, size: nar.length };
    fs.writeFileSync(path.join(store.storeDir, nodes[i]!.base), contents, { mode: 0o444 });
  }
  db.transaction(() => {
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      const deriver = node.drv >= 0 ? nodes[node.drv]!.base : node.deriverBase;
      insertPath.run(
        i + 1,
        `${LOGICAL_STORE_DIR}/${node.base}`,
        registered[i]!.hash,
        now - (nodes.length - i),
        deriver === undefined ? null : `${LOGICAL_STORE_DIR}/${deriver}`,
        registered[i]!.size,
        node.isDrv ? null : 1,
      );
    }
    for (let i = 0; i < nodes.length; i++) {
      for (const r of [...nodes[i]!.refs].sort((a, b) => a - b)) insertRef.run(i + 1, r + 1);
      const node = nodes[i]!;
      if (node.drv >= 0) insertOutput.run(node.drv + 1, 'out', `${LOGICAL_STORE_DIR}/${node.base}`);
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();

  const linksDir = path.join(store.root, 'links');
  await fs.promises.mkdir(linksDir, { recursive: true });
  let generation = 0;
  for (const node of nodes) {
    if (node.rootKind === undefined) continue;
    const target = `${LOGICAL_STORE_DIR}/${node.base}`;
    generation++;
    if (node.rootKind === 'profile') {
      const profileDir = path.join(store.stateDir, 'profiles/per-user/ci');
      await fs.promises.mkdir(profileDir, { recursive: true });
      await fs.promises.symlink(target, path.join(profileDir, `profile-${generation}-link`));
    } else if (node.rootKind === 'direct') {
      await fs.promises.symlink(target, path.join(store.stateDir, 'gcroots', `env-${generation}`));
    } else {
      const link = path.join(linksDir, `result-${generation}`);
      await fs.promises.symlink(target, link);
      const auto = path.join(store.stateDir, 'gcroots/auto');
      await fs.promises.mkdir(auto, { recursive: true });
      await fs.promises.symlink(link, path.join(auto, hashPartFor(7, generation)));
    }
  }
}
