import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Bytes of the regular files (and symlinks) under `dir`, each inode counted once, directories not
 * counted: the same measure the engine uses for a volume's size (moby pkg/directory). Undefined when
 * `dir` cannot be read (another mount namespace, no permission).
 */
export async function measureDirectory(dir: string): Promise<number | undefined> {
  const seen = new Set<bigint>();
  let total = 0;
  const walk = async (current: string): Promise<void> => {
    const entries = await readdir(current, { withFileTypes: true });
    const dirs: string[] = [];
    await Promise.all(
      entries.map(async (entry) => {
        const full = path.join(current, entry.name);
        if (entry.isDirectory()) {
          dirs.push(full);
          return;
        }
        const stats = await lstat(full, { bigint: true }).catch(() => undefined);
        if (!stats || stats.size === 0n || seen.has(stats.ino)) return;
        seen.add(stats.ino);
        total += Number(stats.size);
      }),
    );
    for (const sub of dirs) await walk(sub);
  };
  try {
    await walk(dir);
    return total;
  } catch {
    return undefined;
  }
}
