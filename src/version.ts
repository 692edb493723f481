import { readFileSync } from 'node:fs';

/** runnerops' own version, from package.json next to the build. */
export const VERSION: string = (() => {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout (src/ under tsx, dist/src/ when built)
    }
  }
  return 'unknown';
})();
