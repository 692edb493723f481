import { randomBytes } from 'node:crypto';
import { chown, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PermanentJobError, TransientJobError } from '../../errors.js';

export interface AtomicUpdateOptions {
  /** Mode of the written file. @defaultValue 0o600 */
  mode?: number;
  /** Rounds of read-transform-write before giving up when the file keeps changing underneath. @defaultValue 5 */
  maxRounds?: number;
  /** Runs after the temp file is written, before the re-read and rename (tests simulate a concurrent writer here). */
  beforeRename?: () => Promise<void>;
}

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function ownerFor(file: string): Promise<{ uid: number; gid: number }> {
  try {
    const s = await stat(file);
    return { uid: s.uid, gid: s.gid };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const s = await stat(path.dirname(file));
    return { uid: s.uid, gid: s.gid };
  }
}

async function writeTemp(file: string, content: string | Uint8Array, mode: number): Promise<string> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.runnerops-${randomBytes(6).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(tmp, 'wx', mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new PermanentJobError(`${path.dirname(file)} does not exist; create it or check GITLAB_RUNNER_CONFIG / the token paths on this host`);
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM')
      throw new PermanentJobError(`cannot write in ${path.dirname(file)} (${code}); give the worker write access there`);
    throw err;
  }
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `file` with `transform(current content)` atomically: temp file in the same directory
 * (mode 0600), fsync, same owner as the file it replaces (or its directory), rename, fsync of the
 * directory. Right before the rename the file is read again; if someone rewrote it meanwhile (gitlab-runner
 * saves config.toml itself when it rotates a token), the transform is applied again to the new content,
 * so their change and ours both survive. Returns what was written.
 */
export async function updateFileAtomic(file: string, transform: (current: string | undefined) => string, options: AtomicUpdateOptions = {}): Promise<string> {
  const mode = options.mode ?? 0o600;
  const rounds = options.maxRounds ?? 5;
  for (let round = 1; round <= rounds; round++) {
    const current = await readIfExists(file);
    const next = transform(current);
    const tmp = await writeTemp(file, next, mode);
    try {
      await options.beforeRename?.();
      const again = await readIfExists(file);
      if (again !== current) {
        await unlink(tmp);
        continue;
      }
      const owner = await ownerFor(file);
      if (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.()) {
        try {
          await chown(tmp, owner.uid, owner.gid);
        } catch (err) {
          throw new PermanentJobError(
            `cannot give ${file} to its owner (uid ${owner.uid}, gid ${owner.gid}): ${(err as NodeJS.ErrnoException).code ?? 'error'}; run the worker as root or as that user`,
          );
        }
      }
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await syncDir(path.dirname(file));
    return next;
  }
  throw new TransientJobError(`${file} kept changing while it was being written (${rounds} tries); try again`);
}

/** Writes `content` to `file` atomically (see updateFileAtomic). */
export async function writeFileAtomic(file: string, content: string, options: AtomicUpdateOptions = {}): Promise<void> {
  await updateFileAtomic(file, () => content, options);
}

/**
 * Puts back exact bytes (or removes the file when `bytes` is undefined), with the given mode and
 * owner: temp file in the same directory, fsync, chown, rename, fsync of the directory.
 */
export async function replaceFileBytes(file: string, bytes: Uint8Array | undefined, meta: { mode: number; uid: number; gid: number }): Promise<void> {
  if (bytes === undefined) {
    await unlink(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await syncDir(path.dirname(file));
    return;
  }
  const tmp = await writeTemp(file, bytes, meta.mode);
  try {
    if (meta.uid !== process.getuid?.() || meta.gid !== process.getgid?.()) await chown(tmp, meta.uid, meta.gid);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(path.dirname(file));
}
