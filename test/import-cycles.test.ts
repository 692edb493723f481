import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, folderOf, importsOf, sourceFiles } from './helpers/read-imports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = sourceFiles(root, ['src', 'jobs']);

function graphOf(nodeOf: (file: string) => string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const from = nodeOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const target of importsOf(root, file)) {
      if (!target.startsWith('src') && !target.startsWith('jobs')) continue;
      const to = nodeOf(target);
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

describe('imports', () => {
  it('never form a cycle between files', () => {
    expect(findCycles(graphOf((file) => file))).toEqual([]);
  });

  it('never form a cycle between folders (front ends -> bot core -> contract <- host side)', () => {
    // The files at the top of src/ (config, errors, logger, version, cli) are shared by every folder.
    const folders = graphOf(folderOf);
    for (const [from, edges] of folders) {
      if (from.endsWith('.ts')) folders.delete(from);
      for (const to of edges) if (to.endsWith('.ts')) edges.delete(to);
    }
    expect(findCycles(folders)).toEqual([]);
  });
});

describe('findCycles', () => {
  it('finds a cycle of three and leaves the nodes outside it', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'd'])],
      ['d', new Set<string>()],
    ]);
    expect(findCycles(graph)).toEqual([['a', 'b', 'c']]);
  });
});
