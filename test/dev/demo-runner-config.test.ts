import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig, summarizeRunners } from '../../src/clients/runner-config/config-toml.js';
import { writeDemoRunnerConfig } from '../../src/dev/demo-runner-config.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('writeDemoRunnerConfig', () => {
  it('writes one demo runner that the worker reads like any config.toml, mode 0600', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-demo-'));
    dirs.push(dir);
    const file = path.join(dir, 'gitlab-runner', 'config.toml');
    await writeDemoRunnerConfig(file, { url: 'http://127.0.0.1:1', id: 42, token: 'glrt-demo', tokenExpiresAt: '2030-01-01T00:00:00Z' });
    const config = parseRunnerConfig(await readFile(file, 'utf8'));
    expect(summarizeRunners(config)).toEqual([expect.objectContaining({ name: 'demo', id: 42, tokenExpiresAt: '2030-01-01T00:00:00.000Z' })]);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
