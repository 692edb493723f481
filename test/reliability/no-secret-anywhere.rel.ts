import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../src/queue/redis.js';
import { recordFigure } from './support/figures.js';
import { dumpKeys } from './support/redis-servers.js';
import { runDir } from './support/run-dir.js';

// Runs last: every token and secret the run issued (Slack bot and app tokens, signing secrets, GitLab
// user and runner tokens, old and new, the private keys of bots, terminals and hosts) is searched for in
// everything the run left behind: process and in-process logs, audit mirrors, Redis keys and values of
// every scenario (job payloads, results and failure reasons included), and every Slack message,
// ephemeral and API call argument.
const redis = createRedis({ redisUrl: inject('redisUrl') });
afterAll(() => redis.disconnect());

/** The secret, and its random part without the well-known prefix (a token with its prefix cut off is still a leak). */
function needles(secret: string): string[] {
  const tail = secret.replace(/^(glrt-|glpat-|glcbt-|xoxb-\d+-\d+-|xapp-\d+-[A-Z0-9]+-\d+-|xox[apr]-)/, '');
  return tail !== secret && tail.length >= 12 ? [secret, tail] : [secret];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(dir, e.name));
}

describe('no secret anywhere', () => {
  it('finds no issued token or secret in any log, Redis key or value, job, Slack message or audit entry', async () => {
    const root = runDir();
    const secrets = [...new Set((await readFile(path.join(root, 'secrets.txt'), 'utf8').catch(() => '')).split('\n').filter((s) => s.length >= 8))];
    const places: Array<{ name: string; text: string }> = [];
    for (const file of [...(await filesUnder(path.join(root, 'logs'))), ...(await filesUnder(path.join(root, 'artifacts')))]) {
      places.push({ name: path.relative(root, file), text: await readFile(file, 'utf8') });
    }
    places.push({ name: 'shared redis-server (every key left)', text: await dumpKeys(redis, '*') });
    const leaks: string[] = [];
    for (const secret of secrets) {
      for (const needle of needles(secret)) {
        for (const place of places) {
          const at = place.text.indexOf(needle);
          if (at !== -1) leaks.push(`${secret.slice(0, 8)}… in ${place.name}: …${place.text.slice(Math.max(0, at - 60), at).replace(/\s+/g, ' ')}[SECRET]…`);
        }
      }
    }
    const bytes = places.reduce((n, p) => n + p.text.length, 0);
    recordFigure({
      scenario: 'no-secret',
      name: 'secrets searched for',
      value: `${secrets.length} secrets in ${places.length} files and dumps (${(bytes / 1e6).toFixed(1)} MB)`,
      next: `${leaks.length} found`,
    });
    expect(secrets.length).toBeGreaterThan(0);
    expect(places.length).toBeGreaterThan(1);
    expect([...new Set(leaks)]).toEqual([]);
  });
});
