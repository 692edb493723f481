import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every .ts file under `dirs` (relative to `root`), as paths relative to `root`. */
export function sourceFiles(root: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(root, dir))) {
      const rel = path.join(dir, name);
      if (statSync(path.join(root, rel)).isDirectory()) walk(rel);
      else if (rel.endsWith('.ts')) out.push(rel);
    }
  };
  for (const dir of dirs) walk(dir);
  return out.sort();
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;'"]*?from\s+'(\.{1,2}\/[^']+)'|import\('(\.{1,2}\/[^']+)'\)/g;

/** The files a source file imports (type-only imports included), as paths relative to `root`. */
export function importsOf(root: string, file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(IMPORT)) {
    const spec = (match[1] ?? match[2])!;
    found.add(path.normalize(path.join(path.dirname(file), spec.replace(/\.js$/, '.ts'))));
  }
  return [...found];
}

/** The folder a file belongs to for the import direction: `jobs`, `src/<folder>`, or the file itself for files at the top of src/. */
export function folderOf(file: string): string {
  const parts = file.split(path.sep);
  if (parts[0] === 'jobs') return 'jobs';
  if (parts[0] === 'src' && parts.length > 2) return `src/${parts[1]}`;
  return file;
}

/** The strongly connected parts of a graph with more than one node (or a node importing itself): its cycles. */
export function findCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indices.get(next)!));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const part: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        part.push(member);
      } while (member !== node);
      if (part.length > 1 || graph.get(node)?.has(node)) cycles.push(part.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!indices.has(node)) visit(node);
  return cycles;
}
