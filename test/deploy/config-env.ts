import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Environment variables each process reads, derived from src/config.ts's source (not listed by hand). */
export interface ConfigEnv {
  common: string[];
  worker: string[];
  bot: string[];
}

/** Top-level function bodies by name, found by matching braces. */
function functionBodies(source: string): Map<string, string> {
  const bodies = new Map<string, string>();
  const header = /(?:^|\n)(?:export\s+)?function\s+(\w+)\s*(?:<[^>]*>)?\(/g;
  for (const match of source.matchAll(header)) {
    // The body starts at the first brace after the parameter list (config.ts returns named types, not `{ ... }` literals).
    let i = source.indexOf('{', source.indexOf(')', match.index + match[0].length));
    let depth = 0;
    const start = i;
    for (; i < source.length; i++) {
      if (source[i] === '{') depth++;
      else if (source[i] === '}' && --depth === 0) break;
    }
    bodies.set(match[1] ?? '', source.slice(start, i + 1));
  }
  return bodies;
}

/** Variables a function reads (`readX(env, 'NAME', ...)`, `env.NAME`, `env['NAME']`) and local functions it passes `env` to. */
function readsOf(body: string): { names: string[]; calls: string[] } {
  const names = [
    ...[...body.matchAll(/\b\w+\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g)].map((m) => m[1] ?? ''),
    ...[...body.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1] ?? ''),
    ...[...body.matchAll(/\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)].map((m) => m[1] ?? ''),
  ];
  const calls = [...body.matchAll(/\b(\w+)\(\s*env\s*[,)]/g)].map((m) => m[1] ?? '');
  return { names, calls };
}

function closure(bodies: Map<string, string>, entry: string): string[] {
  const seen = new Set<string>();
  const names = new Set<string>();
  const visit = (fn: string) => {
    if (seen.has(fn)) return;
    seen.add(fn);
    const body = bodies.get(fn);
    if (body === undefined) return;
    const reads = readsOf(body);
    reads.names.forEach((n) => names.add(n));
    reads.calls.forEach(visit);
  };
  visit(entry);
  return [...names].sort();
}

export function deriveConfigEnv(source: string): ConfigEnv {
  const bodies = functionBodies(source);
  for (const fn of ['readCommonSettings', 'readWorkerSettings', 'readBotSettings']) {
    if (!bodies.has(fn)) throw new Error(`src/config.ts has no function ${fn}; update test/deploy/config-env.ts`);
  }
  return {
    common: closure(bodies, 'readCommonSettings'),
    worker: closure(bodies, 'readWorkerSettings'),
    bot: closure(bodies, 'readBotSettings'),
  };
}

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** The variables of src/config.ts as it is in the working tree. */
export function readConfigEnv(): ConfigEnv {
  return deriveConfigEnv(readFileSync(path.join(repoRoot, 'src/config.ts'), 'utf8'));
}

/** Variables that hold secrets by their name: `*_TOKEN`, `*_SECRET`, `*_PASSWORD` (not `*_TOKEN_MODE`). */
export function looksSecret(name: string): boolean {
  return /(^|_)(TOKEN|SECRET|PASSWORD|PRIVATE_KEY)$/.test(name);
}
