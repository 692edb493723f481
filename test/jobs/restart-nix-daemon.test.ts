import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { PermanentJobError } from '../../src/errors.js';
import type { WorkerSettings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { JobProgress } from '../../jobs/job-context.js';
import { readLastLogLines } from '../../src/clients/docker/read-container-logs.js';
import { healthCommand, payloadSchema, run, summarize } from '../../jobs/restart-nix-daemon.js';
import { ensureDockerEngine } from '../setup/docker-engine.js';
import { ensureBusyboxImage, ensureNixDaemonImage } from '../setup/docker-images.js';

// The main engine, shared with other test files: every container here has a unique name and is removed
// (with its anonymous volumes) at the end. Nothing here prunes.
let docker: Docker;
let nixImage: string;
let busybox: string;
const suffix = randomBytes(4).toString('hex');
const created: string[] = [];

function context(container: string, engine = docker): { ctx: Parameters<typeof run>[1]; phases: JobProgress[] } {
  const phases: JobProgress[] = [];
  return {
    phases,
    ctx: {
      host: 'ci-test',
      docker: engine,
      settings: { nixDaemonContainer: container, dockerHost: undefined } as unknown as WorkerSettings,
      progress: async (p) => void phases.push(p),
      log: createLogger({ name: 'test', level: 'silent' }),
    },
  };
}

async function startContainer(name: string, image: string, cmd?: string[]): Promise<Docker.Container> {
  const container = await docker.createContainer({ name, Image: image, ...(cmd ? { Cmd: cmd } : {}), HostConfig: { NetworkMode: 'none' } });
  created.push(name);
  await container.start();
  return container;
}

/** Runs a job container the way the seed's runner does: volumes from the daemon, NIX_REMOTE=daemon. */
async function runJobContainer(daemon: string, script: string): Promise<{ exitCode: number; output: string }> {
  const name = `runnerops-test-job-${suffix}-${randomBytes(3).toString('hex')}`;
  const job = await docker.createContainer({
    name,
    Image: nixImage,
    Cmd: ['/bin/sh', '-c', script],
    Env: ['NIX_REMOTE=daemon'],
    HostConfig: { NetworkMode: 'none', VolumesFrom: [daemon] },
  });
  try {
    await job.start();
    const { StatusCode } = (await job.wait()) as { StatusCode: number };
    return { exitCode: StatusCode, output: (await readLastLogLines(docker, name, 20)).join('\n') };
  } finally {
    await job.remove({ force: true });
  }
}

beforeAll(async () => {
  docker = await ensureDockerEngine();
  [nixImage, busybox] = await Promise.all([ensureNixDaemonImage(), ensureBusyboxImage()]);
});

afterAll(async () => {
  await Promise.all(
    created.map((name) =>
      docker
        .getContainer(name)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
});

describe('healthCommand', () => {
  it('uses store ping before Nix 2.19 and store info from 2.19 on', () => {
    expect(healthCommand('2.8.0')).toContain('ping');
    expect(healthCommand('2.18.1')).toContain('ping');
    expect(healthCommand('2.19.0')).toEqual(expect.arrayContaining(['info', '--json']));
    expect(healthCommand('3.0.0')).toContain('info');
    expect(healthCommand(undefined)).toContain('ping');
  });
});

describe('run', () => {
  it('restarts the daemon container and a job container can use the daemon afterwards', async () => {
    const name = `runnerops-test-nixd-${suffix}`;
    const container = await startContainer(name, nixImage);
    const before = await container.inspect();
    const { ctx, phases } = context(name);

    const result = await run(payloadSchema.parse({ timeoutSeconds: 60, stopTimeoutSeconds: 5 }), ctx);

    const after = await container.inspect();
    expect(after.State.Running).toBe(true);
    expect(after.State.StartedAt).not.toBe(before.State.StartedAt);
    expect(result.nixVersion).toMatch(/^2\.\d+/);
    expect(result.healthyMs).toBeGreaterThanOrEqual(result.restartMs);
    expect(phases.map((p) => p.phase)).toEqual(['restarting', 'waiting for daemon', 'healthy']);
    expect(summarize(result)).toContain(`restarted ${name}`);

    const job = await runJobContainer(
      name,
      'echo runnerops > /tmp/hello && p=$(nix-store --add /tmp/hello) && cat "$p" && nix --extra-experimental-features nix-command store ping',
    );
    expect(job.exitCode).toBe(0);
    expect(job.output).toContain('runnerops');
    expect(job.output).toContain('Store URL: daemon');
  });

  it('names the container and what to check when it does not exist', async () => {
    const { ctx } = context(`runnerops-test-missing-${suffix}`);
    const failure = run(payloadSchema.parse({}), ctx);
    await expect(failure).rejects.toBeInstanceOf(PermanentJobError);
    await expect(failure).rejects.toThrow(`no container "runnerops-test-missing-${suffix}" on ci-test; check NIX_DAEMON_CONTAINER`);
  });

  it('gives up after the timeout with the container log when the daemon never answers', async () => {
    const name = `runnerops-test-silent-${suffix}`;
    await startContainer(name, busybox, ['/bin/sh', '-c', 'echo no daemon here; exec sleep 600']);
    const { ctx } = context(name);
    const started = Date.now();
    const failure = run(payloadSchema.parse({ timeoutSeconds: 2, stopTimeoutSeconds: 0 }), ctx);
    await expect(failure).rejects.toThrow(/did not answer within 2s after the restart.*last log lines: .*no daemon here/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await docker.getContainer(name).inspect()).State.Running).toBe(true);
  });

  it('fails at once with the exit code when the container stops again after the restart', async () => {
    const name = `runnerops-test-crash-${suffix}`;
    await startContainer(name, busybox, ['/bin/sh', '-c', 'echo daemon crashed; exit 3']);
    const { ctx } = context(name);
    const started = Date.now();
    await expect(run(payloadSchema.parse({ timeoutSeconds: 60, stopTimeoutSeconds: 0 }), ctx)).rejects.toThrow(
      /stopped again after the restart \(exit code 3\); last log lines: .*daemon crashed/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('says the Docker Engine does not answer when nothing listens on its socket', async () => {
    const { ctx } = context('gitlabnix', new Docker({ socketPath: `/tmp/runnerops-no-engine-${suffix}.sock` }));
    await expect(run(payloadSchema.parse({}), ctx)).rejects.toThrow(/Docker Engine does not answer at .*check that dockerd is running/);
  });
});
