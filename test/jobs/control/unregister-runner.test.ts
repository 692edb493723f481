import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { payloadSchema, run, summarize } from '../../../jobs/control/unregister-runner.js';
import { parseRunnerConfig, setEntryToken, summarizeRunners } from '../../../src/clients/runner-config/config-toml.js';
import { readHost } from '../../../src/queue/host-registry.js';
import { joinAll, leakedTokens, seedConfigFor, useRunnerJobEnvironment } from '../support/runner-host.js';
import { failureOf, useControlStacks, type ControlStack } from './support/control-stack.js';
import { defined } from '../../helpers/defined.js';

const env = useRunnerJobEnvironment();
const { startStack } = useControlStacks(env);

/** A stack whose host carries one registered runner in config.toml, published in the registry. */
async function stackWithRunner(options: { approvedBy?: string[] } = {}) {
  const stack = await startStack('config-toml', options);
  const runner = env.fake.addRunner({ description: 'nix' });
  const text = setEntryToken(await seedConfigFor(env.fake, runner), { id: runner.id }, { token: runner.token, obtainedAt: new Date(), expiresAt: null });
  await writeFile(stack.host.settings.runnerConfigPath, text);
  await stack.host.patchHost({ runners: summarizeRunners(parseRunnerConfig(text)) });
  const name = defined(summarizeRunners(parseRunnerConfig(text))[0], 'a runner in config.toml').name;
  return {
    stack,
    runner,
    name,
    payload: (dryRun: boolean) => payloadSchema.parse({ host: stack.host.settings.host, runnerId: runner.id, runner: name, dryRun }),
  };
}

const entryIds = async (stack: ControlStack) =>
  (parseRunnerConfig(await readFile(stack.host.settings.runnerConfigPath, 'utf8')).runners ?? []).map((e) => e.id);

describe('run', () => {
  it('deletes the runner in GitLab and removes its entry from the host, as its dry run said, once approved', async () => {
    const { stack, runner, name, payload } = await stackWithRunner({ approvedBy: ['alice'] });
    const dry = await run(payload(true), stack.ctx);
    expect(env.fake.runner(runner.id)).toBeDefined();
    expect(await entryIds(stack)).toEqual([runner.id]);
    expect(summarize(dry)).toBe(
      `would delete runner "${name}" (#${runner.id}) in GitLab (never_contacted); would remove "${name}" from ${stack.host.settings.host}'s config.toml (dry run: nothing changed)`,
    );

    const real = await run(payload(false), stack.ctx);
    expect(env.fake.runner(runner.id)).toBeUndefined();
    expect(await entryIds(stack)).toEqual([]);
    expect(real).toMatchObject({ gitlab: 'deleted', removed: { absent: false, written: [stack.host.settings.runnerConfigPath] } });
    expect(summarize(real)).toBe(
      `deleted runner "${name}" (#${runner.id}) in GitLab; removed "${name}" (#${runner.id}) from ${stack.host.settings.runnerConfigPath}`,
    );
    expect((await readHost(env.redis, env.redisSettings.prefix, stack.host.settings.host))?.runners).toEqual([]);
    expect(leakedTokens(env.fake.issuedTokens(), joinAll(dry, real, summarize(real)))).toEqual([]);

    // A rerun finds it gone in GitLab and nothing left on the host.
    expect(summarize(await run(payload(false), stack.ctx))).toBe(
      `runner "${name}" (#${runner.id}) was already gone in GitLab; ${stack.host.settings.host}'s config.toml had no entry for runner #${runner.id} any more`,
    );
  });

  it('leaves the host alone when its envelope carries no approval: the host refuses remove-runner', async () => {
    const { stack, runner, payload } = await stackWithRunner();
    const error = await failureOf(run(payload(false), stack.ctx));
    expect(error.message).toMatch(
      new RegExp(
        `^runner #${runner.id} is deleted in GitLab, but ${stack.host.settings.host} did not remove its entry \\(.*without an approval.*\\); run the same unregister again$`,
      ),
    );
    expect(await entryIds(stack)).toEqual([runner.id]);
  });
});

describe('summarize', () => {
  it('names the other hosts a deleted runner stops on, and how to clean them up', () => {
    const base = { host: 'ci-1', runnerId: 7, runner: 'nix', alsoOn: ['ci-2'] };
    expect(summarize({ ...base, dryRun: true, gitlab: 'would-delete', wouldRemove: '"nix" from ci-1\'s config.toml' })).toBe(
      'would delete runner "nix" (#7) in GitLab (?); would remove "nix" from ci-1\'s config.toml (dry run: nothing changed)\nit would stop working on ci-2 too, which carry it',
    );
    expect(
      summarize({ ...base, dryRun: false, gitlab: 'deleted', removed: { host: 'ci-1', runnerId: 7, runner: 'nix', written: ['/c.toml'], absent: false } }),
    ).toBe(
      'deleted runner "nix" (#7) in GitLab; removed "nix" (#7) from /c.toml\nci-2 still has it in config.toml with a dead token: "unregister ci-2 --runner 7" removes it there',
    );
  });
});
