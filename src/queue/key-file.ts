import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, stat } from 'node:fs/promises';

/**
 * A 32-byte secret (an X25519 secret key or an Ed25519 seed) in a file of one base64 line, mode 0600:
 * read, or created with fresh random bytes when missing. The create is exclusive ('wx'), so two
 * processes starting at once keep one key; a file others could read is made 0600 before it is read.
 * `invalid` names the fix when the file holds something else.
 */
export async function readOrCreateKeyFile(file: string, invalid: (file: string) => Error): Promise<{ bytes: Buffer; created: boolean }> {
  try {
    const handle = await open(file, 'wx', 0o600);
    try {
      const bytes = randomBytes(32);
      await handle.writeFile(`${bytes.toString('base64')}\n`);
      await handle.sync();
      return { bytes, created: true };
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const info = await stat(file);
  if ((info.mode & 0o077) !== 0) await chmod(file, 0o600);
  const bytes = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  if (bytes.length !== 32) throw invalid(file);
  return { bytes, created: false };
}
