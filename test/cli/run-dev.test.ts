import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDev } from '../../src/cli/run-dev.js';
import { defined } from '../helpers/defined.js';

/** The console of `runnerops dev` as a person sees it: every line written, and a way to wait for one. */
function consoleIo() {
  const lines: string[] = [];
  const waiters: Array<{ match: RegExp; from: number; resolve: (line: string) => void }> = [];
  const input = new PassThrough();
  const write = (text: string) => {
    for (const line of text.split('\n')) {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  /** Types a line and resolves with the first line after it that matches. */
  const type = (command: string, match: RegExp, timeoutMs = 60_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${match} after "${command}" within ${timeoutMs} ms; saw:\n${lines.slice(-15).join('\n')}`)),
        timeoutMs,
      );
      waiters.push({ match, from: lines.length, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      input.write(`${command}\n`);
    });
  return { lines, input, write, type };
}

const HOST = 'dev-try';
let tmp: string;
let previousTmp: string | undefined;
let io: ReturnType<typeof consoleIo>;
let running: Promise<void>;
let startedAt: number;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'runnerops-dev-test-'));
  previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  io = consoleIo();
  startedAt = Date.now();
  running = runDev({ RUNNEROPS_HOST: HOST, RUNNEROPS_HEARTBEAT_SECONDS: '1', PATH: process.env.PATH }, { input: io.input, write: io.write });
  // The worker reports its runners right after it starts: ask until the demo runner shows.
  for (let attempt = 0; ; attempt++) {
    try {
      await io.type('hosts', /demo #\d+ \(expires in 30d\)/, 1000);
      break;
    } catch (err) {
      if (attempt > 60) throw err;
    }
  }
}, 90_000);

afterAll(async () => {
  io.input.end('exit\n');
  await running;
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

describe('runDev', () => {
  it('says at start which real credentials would replace each stand-in', () => {
    const start = io.lines.slice(0, 10).join('\n');
    expect(start).toMatch(/GitLab: local stand-in for GitLab \(not a real GitLab.*set GITLAB_URL and GITLAB_TOKEN/);
    expect(start).toMatch(/Slack: none.*set SLACK_BOT_TOKEN and SLACK_APP_TOKEN/);
    expect(start).toMatch(/Redis: started redis-server on redis:\/\/127\.0\.0\.1:\d+.*set REDIS_URL/);
    expect(start).toMatch(/demo runner "demo" in the temporary .*config\.toml/);
    expect(start).toMatch(/nix-daemon: a demo container "runnerops-dev-nix-daemon-[0-9a-f]{8}".*NIX_DAEMON_CONTAINER names your gitlabnix/);
  });

  it('rotates the demo runner end to end: rotate, then "as alice approve <id>"', async () => {
    const waiting = await io.type(`rotate ${HOST}`, /^approval [0-9a-f]{12}: dev asks to run "rotate dev-try"/);
    const id = defined(/^approval ([0-9a-f]{12})/.exec(waiting)?.[1], 'an approval id in the reply');
    const done = await io.type(`as alice approve ${id}`, new RegExp(`^approval ${id}: (done|failed)`));
    expect(done).toMatch(new RegExp(`^approval ${id}: done by alice`));
    const config = await readFile(path.join(tmp, 'runnerops-dev', 'gitlab-runner', 'config.toml'), 'utf8');
    expect(config).toMatch(/token = "glrt-/);
  }, 120_000);

  it('registers a runner against the stand-in GitLab', async () => {
    // Its own row, not any later line about the host: the next steps must not start while it still runs.
    const line = await io.type(`register ${HOST} --type instance --description tried`, /\] (✓ dev-try .*registered runner .*"tried"|✗ dev-try)|^error:/);
    expect(line).toContain('✓');
  }, 120_000);

  it('shows the whole store report of one host and the runner verbs on the console', async () => {
    await io.type(`store ${HOST} --top 3`, /\] largest paths:$|\] garbage: \d+ paths/, 120_000);
    await io.type('runners all', /\] #\d+ instance "[^"]*": (online|offline|stale|never_contacted)/, 120_000);
    await io.type(`pause ${HOST} --reason trying`, /\] ✓ dev-try.*: paused #[\d#, ]+; reason: trying/, 120_000);
    await io.type(`resume ${HOST}`, /\] ✓ dev-try.*: resumed #\d+/, 120_000);
    await io.type(`unregister ${HOST} --runner demo --dry-run`, /\] ✓ dev-try.*would delete runner "demo"/, 120_000);
    await io.type('cleanup-stale --dry-run', /\] ✓ gitlab.*would delete 0 runners/, 120_000);
    const waiting = await io.type('cleanup-stale', /no runner has been without contact since/, 60_000);
    expect(waiting).not.toContain('approval');
  }, 300_000);

  it('answers every verb on the console with replies only: no log line, no stack trace', async () => {
    const answers: Array<[string, RegExp]> = [
      ['help', /^runnerops: \/runner <verb>/],
      [`ping ${HOST}`, /\] finished: 1 done/],
      [`store ${HOST} --top 3`, /\] finished: /],
      [`prune ${HOST} --dry-run`, /\] finished: /],
      [`restart-daemon ${HOST} --timeout 30s`, /\] (✓|✗) dev-try/],
      ['jobs', /^JOB\s+WHEN/],
      ['audit 5', /^WHEN \(UTC\)/],
      ['schedules', /./],
    ];
    for (const [command, match] of answers) {
      const line = await io.type(command, match, 120_000);
      if (command.startsWith('restart-daemon')) expect(line).toContain('✓');
    }
    const id = defined(/^queued: .*\[job ([0-9a-f]+)\]/.exec(io.lines.find((l) => l.startsWith('queued: ping')) ?? '')?.[1], 'a job id on the card');
    await io.type(`job ${id}`, /✓ dev-try/);
    expect(io.lines.filter((l) => l.startsWith('{') || /^\s+at /.test(l))).toEqual([]);
    const log = await readFile(path.join(tmp, 'runnerops-dev', 'runnerops-dev.log'), 'utf8');
    expect(log.length).toBeGreaterThan(0);
    console.log(`every verb answered ${Math.round((Date.now() - startedAt) / 1000)} s after start`);
  }, 300_000);
});
