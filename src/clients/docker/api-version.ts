import type Docker from 'dockerode';

/** The Engine API version the daemon speaks at most, e.g. "1.41" (Debian docker.io 20.10). */
export async function readApiVersion(docker: Docker): Promise<string> {
  const version = await docker.version();
  return version.ApiVersion;
}

/** Compares dotted API versions: `isApiAtLeast("1.41", "1.42")` is false. */
export function isApiAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
