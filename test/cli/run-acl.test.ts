import { describe, expect, it } from 'vitest';
import { runAcl } from '../../src/cli/run-acl.js';

async function acl(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runAcl(args, { RUNNEROPS_PREFIX: '{ops}', RUNNEROPS_ACL_PASSWORD: 'pw' }, (l) => lines.push(l));
  return lines;
}

describe('runAcl', () => {
  it('prints one line per worker that reaches its own queue and keys only, and appends to the shared streams through selectors', async () => {
    const [line, ...rest] = await acl(['worker', 'ci-3', 'ci-4']);
    expect(rest).toHaveLength(1);
    expect(line).toMatch(
      /^user runnerops-worker-ci-3 reset on >pw ~\{ops\}:host\.ci-3:\* ~\{ops\}:registry:ci-3 ~\{ops\}:beat:ci-3 ~\{ops\}:store-history:ci-3 %R~\{ops\}:policy:watch resetchannels /,
    );
    expect(line).toContain('(~{ops}:hosts +sadd)');
    expect(line).toContain('(~{ops}:events ~{ops}:notices +xadd)');
    expect(line).not.toContain('ci-4');
  });

  it('prints the bot line, and one line of usage for anything else', async () => {
    expect(await acl(['bot'])).toEqual([
      'user runnerops-bot reset on >pw ~{ops}:* resetchannels &{ops}* +@all -@dangerous +@connection +info +client|setname +client|getname +client|id +client|info',
    ]);
    await expect(acl(['worker'])).rejects.toThrow('usage: runnerops acl bot | runnerops acl worker <host> [<host> ...]');
    await expect(acl(['worker', 'bad host'])).rejects.toThrow('"bad host" is not a host name');
  });
});
