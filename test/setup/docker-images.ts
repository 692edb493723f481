import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readlink, readdir, rm, rmdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type Docker from 'dockerode';

const run = promisify(execFile);

/** Bump to rebuild every cached image after a change to how they are assembled. */
const RECIPE = 'runnerops-test-images-v1';
const LOCK_DIR = '/tmp/runnerops-test-images.lock';

/** One file of an image: where it goes, and either its source on the host or its text. */
type Entry =
  | { kind: 'file'; dest: string; source: string; mode?: number }
  | { kind: 'text'; dest: string; text: string; mode?: number }
  | { kind: 'link'; dest: string; target: string }
  | { kind: 'dir'; dest: string; mode: number };

interface Recipe {
  repository: string;
  entries: Entry[];
  /** `docker import --change` lines. */
  changes: string[];
}

async function hashRecipe(recipe: Recipe): Promise<string> {
  const hash = createHash('sha256').update(RECIPE).update(recipe.repository).update(JSON.stringify(recipe.changes));
  for (const entry of recipe.entries) {
    hash.update(JSON.stringify({ ...entry, source: undefined }));
    if (entry.kind === 'file') hash.update(await readFile(entry.source));
  }
  return hash.digest('hex').slice(0, 16);
}

/** Serializes image builds across test files (two run at once) so none re-tags another's image. */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch {
      const age = await stat(LOCK_DIR).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 300_000) await rmdir(LOCK_DIR).catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_DIR}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(LOCK_DIR).catch(() => undefined);
  }
}

async function imageExists(tag: string, host?: string): Promise<boolean> {
  try {
    await run('docker', [...(host ? ['-H', host] : []), 'image', 'inspect', '--format', '{{.Id}}', tag], { timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

async function writeRootfs(root: string, entries: Entry[]): Promise<void> {
  for (const entry of entries) {
    const dest = path.join(root, entry.dest);
    await mkdir(path.dirname(dest), { recursive: true });
    if (entry.kind === 'dir') {
      await mkdir(dest, { recursive: true });
      await chmod(dest, entry.mode);
    } else if (entry.kind === 'link') {
      await symlink(entry.target, dest);
    } else if (entry.kind === 'file') {
      await copyFile(entry.source, dest);
      await chmod(dest, entry.mode ?? 0o755);
    } else {
      await writeFile(dest, entry.text);
      await chmod(dest, entry.mode ?? 0o644);
    }
  }
}

/** `tar -c rootfs | docker import --change ... - tag`. */
async function importRootfs(root: string, tag: string, changes: string[], host?: string): Promise<void> {
  const tar = spawn('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const args = [...(host ? ['-H', host] : []), 'import', ...changes.flatMap((c) => ['--change', c]), '-', tag];
  const docker = spawn('docker', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  tar.stdout.pipe(docker.stdin);
  let stderr = '';
  docker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [tarCode, dockerCode] = await Promise.all([
    new Promise<number | null>((resolve) => tar.once('close', resolve)),
    new Promise<number | null>((resolve) => docker.once('close', resolve)),
  ]);
  if (tarCode !== 0 || dockerCode !== 0) throw new Error(`docker import ${tag} failed: ${stderr.trim()}`);
}

/** Builds `recipe` into `<repository>:<content hash>` unless that tag exists; returns the tag. */
async function ensureImage(recipe: Recipe, host?: string): Promise<string> {
  const tag = `${recipe.repository}:${await hashRecipe(recipe)}`;
  if (await imageExists(tag, host)) return tag;
  return withBuildLock(async () => {
    if (await imageExists(tag, host)) return tag;
    const root = await mkdtemp('/tmp/runnerops-rootfs-');
    try {
      await writeRootfs(root, recipe.entries);
      await importRootfs(root, tag, recipe.changes, host);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    return tag;
  });
}

async function staticBusybox(): Promise<string> {
  const { stdout } = await run('ldd', ['/usr/bin/busybox']).catch((err: { stdout?: string; stderr?: string }) => ({
    stdout: `${err.stdout ?? ''}${err.stderr ?? ''}`,
  }));
  if (!/not a dynamic executable|statically linked/.test(stdout)) {
    throw new Error('/usr/bin/busybox is not static; install busybox-static (bash test/setup/ensure-system.sh)');
  }
  return '/usr/bin/busybox';
}

async function busyboxEntries(): Promise<Entry[]> {
  const busybox = await staticBusybox();
  const { stdout } = await run(busybox, ['--list']);
  const applets = stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox');
  return [
    { kind: 'file', dest: 'bin/busybox', source: busybox },
    ...applets.map((a): Entry => ({ kind: 'link', dest: `bin/${a}`, target: 'busybox' })),
    { kind: 'dir', dest: 'tmp', mode: 0o1777 },
    { kind: 'dir', dest: 'root', mode: 0o700 },
  ];
}

/**
 * A minimal image from Debian's busybox-static (`/bin/sh`, `true`, `sleep`, ...), on the main engine or
 * the engine at `host`. Cached by a content-hash tag.
 */
export async function ensureBusyboxImage(host?: string): Promise<string> {
  const entries: Entry[] = [
    ...(await busyboxEntries()),
    { kind: 'text', dest: 'etc/passwd', text: 'root:x:0:0:root:/root:/bin/sh\n' },
    { kind: 'text', dest: 'etc/group', text: 'root:x:0:\n' },
  ];
  return ensureImage({ repository: 'runnerops-test/busybox', entries, changes: ['ENV PATH=/bin', 'CMD ["/bin/sh"]'] }, host);
}

/** Every shared library `ldd` lists for `binary`, with the path it is loaded from. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1] !== undefined) libs.push(m[1]);
  }
  return libs;
}

const NIX_DAEMON_VOLUMES = ['/nix/store', '/nix/var/nix/db', '/nix/var/nix/daemon-socket'];
const NIX_BUILD_USERS = 4;

/**
 * An image that runs Debian's real `nix-daemon` (nix-bin), like the seed's `gitlabnix` container:
 * /usr/bin/nix with its links and every shared library ldd lists, busybox, nixbld users, a nix.conf
 * without build users or sandbox, and volumes for the store, the db and the daemon socket.
 */
export async function ensureNixDaemonImage(host?: string): Promise<string> {
  const nix = '/usr/bin/nix';
  const links: Entry[] = [];
  for (const name of await readdir('/usr/bin')) {
    if (!name.startsWith('nix-')) continue;
    const target = await readlink(path.join('/usr/bin', name)).catch(() => undefined);
    if (target === 'nix') links.push({ kind: 'link', dest: `usr/bin/${name}`, target: 'nix' });
  }
  const libs = await sharedLibraries(nix);
  // Nix preloads the NSS modules; without them every command warns "unable to load nss_dns backend".
  for (const nss of ['/lib/x86_64-linux-gnu/libnss_dns.so.2', '/lib/x86_64-linux-gnu/libnss_files.so.2']) {
    if (!libs.includes(nss) && (await stat(nss).catch(() => undefined))) libs.push(nss);
  }
  const users = Array.from({ length: NIX_BUILD_USERS }, (_, i) => `nixbld${i + 1}`);
  const entries: Entry[] = [
    ...(await busyboxEntries()),
    { kind: 'file', dest: 'usr/bin/nix', source: nix },
    ...links,
    ...libs.map((lib): Entry => ({ kind: 'file', dest: lib.slice(1), source: lib })),
    {
      kind: 'text',
      dest: 'etc/passwd',
      text: ['root:x:0:0:root:/root:/bin/sh', ...users.map((u, i) => `${u}:x:${30001 + i}:30000:Nix build user:/var/empty:/bin/false`)].join('\n') + '\n',
    },
    { kind: 'text', dest: 'etc/nsswitch.conf', text: 'passwd: files\ngroup: files\nhosts: files dns\n' },
    { kind: 'text', dest: 'etc/group', text: `root:x:0:\nnixbld:x:30000:${users.join(',')}\n` },
    { kind: 'text', dest: 'etc/nix/nix.conf', text: 'build-users-group =\nsandbox = false\nexperimental-features = nix-command\n' },
    { kind: 'dir', dest: 'var/empty', mode: 0o555 },
    { kind: 'dir', dest: 'nix/store', mode: 0o1775 },
    ...['db', 'daemon-socket', 'gcroots', 'profiles', 'temproots', 'userpool'].map((d): Entry => ({ kind: 'dir', dest: `nix/var/nix/${d}`, mode: 0o755 })),
  ];
  return ensureImage(
    {
      repository: 'runnerops-test/nix-daemon',
      entries,
      changes: ['ENV PATH=/usr/bin:/bin', 'ENV USER=root', 'ENV HOME=/root', `VOLUME ${JSON.stringify(NIX_DAEMON_VOLUMES)}`, 'CMD ["/usr/bin/nix-daemon"]'],
    },
    host,
  );
}

/** A tar archive (ustar) of regular files, built in memory; enough for small fixture images. */
export function tarFiles(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = typeof content === 'string' ? Buffer.from(content) : content;
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(
      `${Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, '0')}\0`,
      136,
    );
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0' + '00', 257);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/**
 * `docker import` of a few files through the API (fast enough for fixtures of dozens of images).
 * Without `tag` the image is dangling. Returns the image id.
 */
export async function importFilesImage(
  docker: Docker,
  files: Record<string, string | Buffer>,
  options: { tag?: string; changes?: string[] } = {},
): Promise<string> {
  const [repo, tagPart] = options.tag ? splitTag(options.tag) : [undefined, undefined];
  const stream = await docker.importImage(Readable.from([tarFiles(files)]) as unknown as NodeJS.ReadableStream, {
    ...(repo ? { repo, tag: tagPart } : {}),
    ...(options.changes ? { changes: options.changes } : {}),
  });
  const events = await new Promise<Array<{ status?: string; error?: string }>>((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) => (err ? reject(err) : resolve(out as Array<{ status?: string; error?: string }>))),
  );
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`import failed: ${failed.error}`);
  const id = events.map((e) => e.status ?? '').find((s) => s.startsWith('sha256:'));
  if (!id) throw new Error('import did not report an image id');
  return id;
}

function splitTag(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}
