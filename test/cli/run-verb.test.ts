import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerb } from '../../src/cli/run-verb.js';
import { policySchema } from '../../src/policy/schema.js';
import { signCliRequest } from '../../src/queue/cli-request.js';
import { loadOrCreateSigner, type Signer } from '../../src/queue/signing-keys.js';
import { startTestStack, type TestStack } from '../helpers/test-stack.js';
import { startNixDaemonContainer, type NixDaemonContainer } from '../helpers/nix-daemon-container.js';
import { ensureDockerEngine } from '../setup/docker-engine.js';
import { defined } from '../helpers/defined.js';

let stack: TestStack;
let dir: string;
let tester: { file: string; signer: Signer };
let outsider: { file: string; signer: Signer };

async function keyIn(name: string): Promise<{ file: string; signer: Signer }> {
  const file = path.join(dir, name);
  return { file, signer: (await loadOrCreateSigner(file)).signer };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-cli-'));
  tester = await keyIn('tester-key');
  outsider = await keyIn('outsider-key');
  const policy = policySchema.parse({
    roles: { ops: { users: ['cli:tester'] } },
    verbs: { prune: { run: ['ops'] }, gc: { run: ['ops'] } },
    people: {
      tester: { identities: ['cli:tester', 'U0TESTER'], cliKeys: [tester.signer.publicKey] },
      other: { identities: ['cli:other'], cliKeys: [outsider.signer.publicKey] },
    },
  });
  stack = await startTestStack({ mode: 'http', hosts: ['cli-1', 'cli-2', 'cli-3'], policy });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[], options: { user?: string; key?: string; env?: Record<string, string> } = {}): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runVerb(args, {
    env: { ...stack.env, RUNNEROPS_CLI_KEY: options.key ?? tester.file, ...options.env },
    write: (l) => lines.push(l),
    user: options.user ?? 'cli:tester',
  });
  return { code, out: lines.join('\n') };
}

/** Sends a raw body to the bot's terminal API, as a copy of a captured request would be sent. */
function post(body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: stack.env.RUNNEROPS_API_SOCKET, path: '/v1/commands', method: 'POST' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('runVerb', () => {
  it('pings every host through the bot and prints one line per host and a total', async () => {
    const { code, out } = await run(['ping', 'all']);
    expect(code).toBe(0);
    for (const host of ['cli-1', 'cli-2', 'cli-3']) expect(out).toMatch(new RegExp(`✓ ${host} \\(\\d+ ms\\): pong after \\d+ ms in the queue`));
    expect(out).toMatch(/finished: 3 done in \d+/);
  });

  it('prints the hosts as plain text', async () => {
    const { code, out } = await run(['hosts']);
    expect(code).toBe(0);
    expect(out).toContain('3 hosts, 3 alive');
  });

  it('exits 1 with a one-line error for a bad command', async () => {
    const { code, out } = await run(['ping', 'cli-9']);
    expect(code).toBe(1);
    expect(out).toBe('unknown host "cli-9"; known: cli-1, cli-2, cli-3');
  });

  it('shows a finished job by its id', async () => {
    await run(['ping', 'cli-1']);
    const { out: jobs } = await run(['jobs', '1']);
    const id = defined(/\n([0-9a-f]{10})\s/.exec(jobs)?.[1], 'a job id in the list of jobs');
    const { code, out } = await run(['job', id]);
    expect(code).toBe(0);
    expect(out).toContain(`ping cli-1 [job ${id}]`);
    expect(out).toContain('✓ cli-1');
  });

  it('records each command in the audit log', async () => {
    await run(['ping', 'cli-2']);
    const { out } = await run(['audit', '5']);
    expect(out).toMatch(/cli:tester\s+command\s+ping cli-2\s+queued on 1 host/);
  });

  it("prints the total across hosts after a fan-out prune dry run the bot's policy allows", async () => {
    const { code, out } = await run(['prune', 'all', '--dry-run']);
    expect(code).toBe(0);
    for (const host of ['cli-1', 'cli-2', 'cli-3']) expect(out).toMatch(new RegExp(`✓ ${host} \\(\\d+ ms\\): dry run: would remove`));
    expect(out.split('\n').at(-1)).toMatch(/^would free \d.* on 3 hosts/);
  });

  it('refuses a mutating verb to a person the policy does not grant it, whatever policy the caller points at', async () => {
    const permissive = path.join(dir, 'permissive.yml');
    await writeFile(permissive, 'roles: { all: { users: ["cli:other"] } }\nverbs: { prune: { run: [all] } }\n');
    const { code, out } = await run(['prune', 'all'], { user: 'cli:other', key: outsider.file, env: { RUNNEROPS_POLICY: permissive } });
    expect(code).toBe(1);
    expect(out).toBe('you may not run prune: it needs the role "ops"');
  });

  it('refuses a request signed with a key the policy does not list for that identity, and says so in the audit log', async () => {
    const { code, out } = await run(['hosts'], { user: 'cli:tester', key: outsider.file });
    expect(code).toBe(1);
    expect(out).toMatch(/^refused: cli-request signed by unknown key/);
    const unknown = await run(['hosts'], { user: 'cli:nobody' });
    expect(unknown.out).toBe('refused: no person in the policy has the identity cli:nobody');
    const { out: audit } = await run(['audit', '5']);
    expect(audit).toMatch(/runnerops\s+security\s+refused-terminal-request\s+refused a terminal request: no person/);
  });

  it('refuses a copy of a request that already ran', async () => {
    const body = JSON.stringify(signCliRequest(tester.signer, 'cli:tester', ['hosts']));
    expect((await post(body)).status).toBe(200);
    const again = await post(body);
    expect(again).toEqual({ status: 403, text: 'refused: a terminal request that was already used\nexit 1\n' });
  });

  it('names the socket when no bot listens there', async () => {
    await expect(run(['hosts'], { env: { RUNNEROPS_API_SOCKET: path.join(dir, 'none.sock') } })).rejects.toThrow(
      `cannot reach the bot at ${path.join(dir, 'none.sock')}`,
    );
  });

  it('says how to make a terminal key when there is none', async () => {
    await expect(run(['hosts'], { key: path.join(dir, 'missing-key') })).rejects.toThrow(
      `no terminal key at ${path.join(dir, 'missing-key')}; create one with "runnerops keygen --cli"`,
    );
  });
});

describe('runVerb with the Nix store and image eviction verbs', () => {
  let daemon: NixDaemonContainer;

  beforeAll(async () => {
    daemon = await startNixDaemonContainer(await ensureDockerEngine());
    await stack.startHost('cli-gc', { NIX_DAEMON_CONTAINER: daemon.name });
  });
  afterAll(async () => {
    await daemon?.remove();
  });

  it('collects Nix garbage in the nix-daemon container: the dry run lists the path, the real run deletes it', async () => {
    const garbage = await daemon.addGarbage('cli garbage');
    const dry = await run(['gc', 'cli-gc', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(
      new RegExp(
        `✓ cli-gc \\(\\d+ ms\\): dry run: Nix GC in container ${daemon.name} would delete 1 of 1 dead paths: .* NAR; the store report predicted .* in 1 paths`,
      ),
    );
    expect(dry.out).toContain(garbage);
    const real = await run(['gc', 'cli-gc']);
    expect(real.code).toBe(0);
    expect(real.out).toMatch(new RegExp(`Nix GC in container ${daemon.name} deleted 1 paths: .* freed`));
    expect(real.out).toContain(garbage);
    expect((await run(['gc', 'cli-gc', '--dry-run'])).out).toContain('would delete 0 of 0 dead paths');
  });

  it('answers a bad size with one line and exits 1', async () => {
    expect(await run(['gc', 'cli-gc', '--max-freed', 'lots'])).toEqual({
      code: 1,
      out: '--max-freed "lots" is not a size; use a number with K, M, G or T (e.g. 10G)',
    });
  });

  it('runs an LRU prune dry run to a free-space target', async () => {
    const { code, out } = await run(['prune', 'cli-1', '--images', 'lru', '--target-free', '1%', '--dry-run']);
    expect(code).toBe(0);
    expect(out).toMatch(/✓ cli-1 \(\d+ ms\): dry run: .*already free, target .*: no image evicted/);
  });
});
