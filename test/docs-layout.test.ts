import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every folder under src/ and jobs/, as `src/queue/`, `jobs/control/`, ... */
function folders(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    out.push(`${dir}/`);
    for (const name of readdirSync(path.join(root, dir))) if (statSync(path.join(root, dir, name)).isDirectory()) walk(`${dir}/${name}`);
  };
  walk('src');
  walk('jobs');
  return out.filter((dir) => dir !== 'src/');
}

describe('the layout in the docs', () => {
  it('names every folder in the README', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('Code layout'), readme.indexOf('## Setting up Slack'));
    const named = (dir: string) => section.includes(`\`${dir}\``) || section.includes(`\`${dir.split('/').slice(-2).join('/')}\``);
    expect(folders().filter((dir) => !named(dir))).toEqual([]);
  });

  it('names every top-level folder of src/ and jobs/ in docs/architecture.md', () => {
    const text = readFileSync(path.join(root, 'docs', 'architecture.md'), 'utf8');
    const top = folders().filter((dir) => dir.split('/').length === (dir.startsWith('jobs') ? 2 : 3));
    expect(top.filter((dir) => !text.includes(`\`${dir}\``) && !text.includes(`\`${dir.slice(0, -1)}\``))).toEqual([]);
  });
});
