import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { RUNNER_TEMPLATE_FILE, buildRunnerEntry, defaultRunnerTemplate, readRunnerTemplate } from '../../../src/clients/runner-config/runner-template.js';
import { defined } from '../../helpers/defined.js';

const seedFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'seed-config.toml');

describe('defaultRunnerTemplate', () => {
  it('is the seed runner without its identity and token', async () => {
    const seedRunner = defined(
      (parse(await readFile(seedFile, 'utf8')) as { runners: Array<Record<string, unknown>> }).runners[0],
      'a runner in the seed file',
    );
    const { name: _n, url: _u, id: _i, token: _t, ...seedBody } = seedRunner;
    expect(defaultRunnerTemplate('gitlabnix')).toEqual(seedBody);
  });

  it('mounts the configured nix-daemon container', () => {
    expect(defaultRunnerTemplate('nixd-2').docker).toMatchObject({ volumes_from: ['nixd-2:ro'] });
  });
});

describe('readRunnerTemplate', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-template-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("uses the host's template file without any identity keys it may hold", async () => {
    await writeFile(
      path.join(dir, RUNNER_TEMPLATE_FILE),
      'token = "x"\nexecutor = "docker"\nlimit = 2\n[docker]\nimage = "local/nix:2"\nvolumes_from = ["gitlabnix:ro"]\n',
    );
    expect(await readRunnerTemplate(dir, 'gitlabnix')).toEqual({
      executor: 'docker',
      limit: 2,
      docker: { image: 'local/nix:2', volumes_from: ['gitlabnix:ro'] },
    });
  });

  it('falls back to the seed runner', async () => {
    expect(await readRunnerTemplate(dir, 'gitlabnix')).toEqual(defaultRunnerTemplate('gitlabnix'));
  });
});

describe('buildRunnerEntry', () => {
  it('puts name, url, id, token and both dates before the template keys', () => {
    const entry = buildRunnerEntry(defaultRunnerTemplate('gitlabnix'), {
      name: 'n',
      url: 'https://g',
      id: 3,
      token: 'glrt-t',
      obtainedAt: '2026-01-01T00:00:00Z',
      expiresAt: null,
    });
    expect(Object.keys(entry).slice(0, 6)).toEqual(['name', 'url', 'id', 'token', 'token_obtained_at', 'token_expires_at']);
    expect(entry.executor).toBe('docker');
  });
});
