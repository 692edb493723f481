import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, summarize } from '../../jobs/read-system-id.js';
import { SYSTEM_ID_FILE } from '../../src/clients/runner-config/system-id.js';
import { useRunnerJobEnvironment } from './support/runner-host.js';

const env = useRunnerJobEnvironment();

describe('run', () => {
  it('reads the system id gitlab-runner keeps next to config.toml', async () => {
    const host = await env.createHost({ mode: 'config-toml' });
    await writeFile(path.join(path.dirname(host.settings.runnerConfigPath), SYSTEM_ID_FILE), 's_0123456789ab\n');
    const result = await run({}, { host: 'ci-1', settings: host.settings });
    expect(result).toEqual({ host: 'ci-1', systemId: 's_0123456789ab' });
    expect(summarize(result)).toBe('ci-1 is runner manager s_0123456789ab');
  });

  it('answers null and creates nothing when the host has no system id yet', async () => {
    const host = await env.createHost({ mode: 'config-toml' });
    expect(await run({}, { host: 'ci-1', settings: host.settings })).toEqual({ host: 'ci-1', systemId: null });
    expect((await run({}, { host: 'ci-1', settings: host.settings })).systemId).toBeNull();
  });
});
