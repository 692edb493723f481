import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defined } from '../helpers/defined.js';
import { looksSecret, readConfigEnv, repoRoot } from './config-env.js';

const env = readConfigEnv();
const dir = path.join(repoRoot, 'deploy/container');
const dockerfileText = readFileSync(path.join(dir, 'Dockerfile'), 'utf8');

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n(\s*#.*\n)*/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

const instructions = parseDockerfile(dockerfileText);
const stages = instructions.reduce<Instruction[][]>((acc, ins) => {
  if (ins.op === 'FROM') acc.push([]);
  acc.at(-1)?.push(ins);
  return acc;
}, []);
const finalStage = stages.at(-1) ?? [];
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
/** Paths the BuildKit ignore file lets into the context (`!path` lines after `*`). */
const allowed = readFileSync(path.join(dir, 'Dockerfile.dockerignore'), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('!'))
  .map((l) => l.slice(1).replace(/\/$/, ''));

const hadolint = spawnSync('hadolint', ['--version'], { encoding: 'utf8' });
if (hadolint.error) {
  console.warn(
    'NOTE: hadolint is not installed (Debian has no package for it), so deploy/container/Dockerfile was not linted by it. ' +
      'The structural checks below and a real `docker build` still ran. Install hadolint to add the lint.',
  );
} else {
  describe('hadolint', () => {
    it('passes deploy/container/Dockerfile', () => {
      const run = spawnSync('hadolint', [path.join(dir, 'Dockerfile')], { encoding: 'utf8' });
      expect(run.stdout + run.stderr).toBe('');
      expect(run.status).toBe(0);
    });
  });
}

describe('deploy/container/Dockerfile', () => {
  it('builds in one stage and runs from another on a Node.js 20 slim image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(instructions.find((i) => i.op === 'ARG')?.args).toMatch(/^NODE_IMAGE=node:20-[a-z]*-?slim$/);
    expect(stages.map((s) => s[0]?.args)).toEqual(['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
  });

  it('runs as a numeric non-root user', () => {
    const user = finalStage.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toMatch(/^[1-9][0-9]*(:[1-9][0-9]*)?$/);
  });

  it("starts package.json's runnerops binary with the bot command", () => {
    expect(finalStage.find((i) => i.op === 'ENTRYPOINT')?.args).toBe(`["node", "/app/${packageJson.bin.runnerops}"]`);
    expect(finalStage.find((i) => i.op === 'CMD')?.args).toBe('["bot"]');
  });

  it('keeps compilers and sources out of the final stage', () => {
    expect(finalStage.filter((i) => i.op === 'RUN')).toEqual([]);
    const copies = finalStage.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies.filter((c) => !c.startsWith('--from=build')).every((c) => !/\b(src|jobs)\b/.test(c.split(' ')[0] ?? ''))).toBe(true);
  });

  it('copies only paths that exist and that the ignore file lets into the context', () => {
    const sources = instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(path.join(repoRoot, source)), source).toBe(true);
      expect(
        allowed.some((a) => source === a || source.startsWith(`${a}/`)),
        `${source} is not in Dockerfile.dockerignore`,
      ).toBe(true);
    }
  });

  it('bakes no secret into the image', () => {
    const set = instructions.filter((i) => i.op === 'ENV' || i.op === 'ARG').flatMap((i) => [...i.args.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1] ?? ''));
    expect(set.filter(looksSecret)).toEqual([]);
  });
});

describe('deploy/container/compose.yml', () => {
  const compose = parse(readFileSync(path.join(dir, 'compose.yml'), 'utf8')) as {
    services: Record<
      string,
      {
        image?: string;
        command?: string[];
        environment?: Record<string, string>;
        env_file?: string;
        build?: { context: string; dockerfile: string };
        read_only?: boolean;
        cap_drop?: string[];
      }
    >;
  };
  const bot = defined(compose.services.bot, 'a bot service in compose.yml');
  const envFileNames = [...readFileSync(path.join(dir, 'bot.env.example'), 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);

  it('sets every bot variable of src/config.ts, in compose.yml or in the env file example', () => {
    expect([...Object.keys(bot.environment ?? {}), ...envFileNames].sort()).toEqual(env.bot);
  });

  it('keeps secrets out of compose.yml, in the env file', () => {
    expect(Object.keys(bot.environment ?? {}).filter(looksSecret)).toEqual([]);
    expect(bot.env_file).toBe('bot.env');
  });

  it('builds the bot from this Dockerfile and runs it read-only without capabilities', () => {
    expect(bot.build).toEqual({ context: '../..', dockerfile: 'deploy/container/Dockerfile' });
    expect(bot.read_only).toBe(true);
    expect(bot.cap_drop).toEqual(['ALL']);
  });

  it('runs Redis with the noeviction policy BullMQ needs, and points the bot at it', () => {
    expect(compose.services.redis?.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction']));
    expect(bot.environment?.REDIS_URL).toBe('redis://redis:6379');
  });
});

/**
 * Builds the Dockerfile with the real Docker Engine. No registry is reachable, so the base image is a
 * stand-in imported from busybox with an `npm` that records the steps and writes dist/ like the build.
 */
describe('docker build of deploy/container/Dockerfile', () => {
  const runId = randomUUID().slice(0, 8);
  const baseTag = `runnerops-test/node-standin:${runId}`;
  const imageTag = `runnerops-test/bot-image:${runId}`;
  const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeout: 300_000 });
  let buildLog = '';

  beforeAll(() => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'runnerops-standin-'));
    for (const d of ['bin', 'usr/bin', 'usr/local/bin', 'var/lib/apt/lists', 'tmp']) mkdirSync(path.join(root, d), { recursive: true });
    chmodSync(path.join(root, 'tmp'), 0o1777);
    copyFileSync(execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim(), path.join(root, 'bin/busybox'));
    for (const tool of ['sh', 'mkdir', 'rm', 'cat', 'echo', 'ls', 'id', 'test']) symlinkSync('busybox', path.join(root, 'bin', tool));
    const script = (file: string, body: string) => {
      writeFileSync(path.join(root, file), `#!/bin/sh\n${body}\n`);
      chmodSync(path.join(root, file), 0o755);
    };
    script('usr/bin/apt-get', 'echo "apt-get $*"');
    script('usr/local/bin/node', 'exit 0');
    script(
      'usr/local/bin/npm',
      [
        'echo "npm $*"',
        'case "$1" in',
        '  ci) test -f package-lock.json && mkdir -p node_modules/dev-only node_modules/prod ;;',
        '  run) test "$2" = build && test -d src && test -f tsconfig.build.json && mkdir -p dist/src && echo built > dist/src/cli.js ;;',
        '  prune) rm -rf node_modules/dev-only ;;',
        'esac',
      ].join('\n'),
    );
    execFileSync(
      'sh',
      [
        '-c',
        `tar -C "${root}" -c . | docker import --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" --change "LABEL runnerops.test.run=${runId}" - ${baseTag}`,
      ],
      { timeout: 120_000 },
    );
    rmSync(root, { recursive: true, force: true });

    // The context BuildKit would send: only what Dockerfile.dockerignore lets in.
    const context = mkdtempSync(path.join(os.tmpdir(), 'runnerops-context-'));
    for (const entry of allowed) cpSync(path.join(repoRoot, entry), path.join(context, entry), { recursive: true });
    mkdirSync(path.join(context, 'deploy/container'), { recursive: true });
    copyFileSync(path.join(dir, 'Dockerfile'), path.join(context, 'deploy/container/Dockerfile'));
    buildLog = docker(
      'build',
      '--force-rm',
      '-f',
      path.join(context, 'deploy/container/Dockerfile'),
      '--build-arg',
      `NODE_IMAGE=${baseTag}`,
      '-t',
      imageTag,
      context,
    );
    rmSync(context, { recursive: true, force: true });
  }, 300_000);

  afterAll(() => {
    // Every image of this run (both stages) carries the stand-in's label; nothing else is touched.
    const ids = docker('images', '-q', '--filter', `label=runnerops.test.run=${runId}`).split('\n').filter(Boolean);
    spawnSync('docker', ['rmi', '-f', imageTag, baseTag, ...new Set(ids)], { encoding: 'utf8' });
  });

  it('runs the install, build and prune steps in the build stage', () => {
    expect(buildLog).toContain('npm ci --no-audit --no-fund');
    expect(buildLog).toContain('npm run build');
    expect(buildLog).toContain('npm prune --omit=dev');
  });

  it('gives an image that runs the bot as user 1000 with a health check', () => {
    const config = JSON.parse(docker('image', 'inspect', '--format', '{{json .Config}}', imageTag)) as {
      User: string;
      Entrypoint: string[];
      Cmd: string[];
      Env: string[];
      ExposedPorts: Record<string, unknown>;
      Healthcheck?: { Test: string[] };
    };
    expect(config.User).toBe('1000:1000');
    expect(config.Entrypoint).toEqual(['node', `/app/${packageJson.bin.runnerops}`]);
    expect(config.Cmd).toEqual(['bot']);
    expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'RUNNEROPS_METRICS_PORT=9464']));
    expect(Object.keys(config.ExposedPorts).sort()).toEqual(['3000/tcp', '9464/tcp']);
    expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
  });

  it('holds the built code and production dependencies only, not sources or dev dependencies', () => {
    const listing = docker(
      'run',
      '--rm',
      '--entrypoint',
      '/bin/sh',
      imageTag,
      '-c',
      'id -u; ls /app; ls /app/node_modules; cat /app/dist/src/cli.js; test -e /src && echo HAS_SRC || true',
    );
    expect(listing.split('\n')).toEqual(['1000', 'deploy', 'dist', 'node_modules', 'package.json', 'prod', 'built', '']);
  });
});
