import type { ControlContext } from '../job-context.js';
import { toGitlabJobError } from '../../src/clients/gitlab/describe-gitlab-error.js';
import { readRunner } from '../../src/clients/gitlab/list-runners.js';
import { retryIdempotent, type RetryOptions } from '../../src/clients/gitlab/retry-idempotent.js';
import type { Payload } from '../../src/queue/payloads/pause-runners.js';

export { name, payloadSchema, retry, type Payload } from '../../src/queue/payloads/pause-runners.js';

export interface Result {
  paused: boolean;
  /** Runners this job paused (or resumed). */
  changed: number[];
  /** Runners that were in that state already (their note is still set or cleared). */
  already: number[];
  reason?: string;
  /** The maintenance note written (pause) or cleared (resume: only a note runnerops wrote). */
  note: string;
  /** Runner id -> the other hosts it also stops or starts on (one runner, several hosts). */
  sharedWith: Record<string, string[]>;
}

export type Context = Pick<ControlContext, 'gitlab' | 'gitlabUrl' | 'progress'>;

const CALL_RETRY: RetryOptions = { attempts: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Notes runnerops writes start with this; resume clears only such a note. */
export const NOTE_PREFIX = 'paused with runnerops';

export function maintenanceNote(payload: Pick<Payload, 'reason' | 'requestedBy'>): string {
  return `${NOTE_PREFIX} by ${payload.requestedBy}${payload.reason ? `: ${payload.reason}` : ''}`;
}

/**
 * `pause <host|runner> [--reason TEXT]` and `resume ...`: sets `paused` on each runner in GitLab
 * (`PUT /runners/:id`), with the reason in its maintenance note; resume clears a note runnerops wrote
 * and leaves anyone else's. A runner shared by several hosts stops (or starts) on all of them: said so.
 */
export async function run(payload: Payload, ctx: Context): Promise<Result> {
  const note = payload.paused ? maintenanceNote(payload) : '';
  const changed: number[] = [];
  const already: number[] = [];
  for (const id of payload.runnerIds) {
    await ctx.progress({ phase: payload.paused ? 'pausing' : 'resuming', detail: `#${id}` });
    try {
      const before = await readRunner(ctx.gitlab, id, CALL_RETRY);
      (before.paused === payload.paused ? already : changed).push(id);
      const clearNote = !payload.paused && before.maintenanceNote.startsWith(NOTE_PREFIX);
      const edit = { paused: payload.paused, ...(payload.paused ? { maintenanceNote: note } : clearNote ? { maintenanceNote: '' } : {}) };
      await retryIdempotent(() => ctx.gitlab.Runners.edit(id, edit), CALL_RETRY);
    } catch (err) {
      const done = changed.filter((c) => c !== id);
      const partly = done.length > 0 ? ` (${payload.paused ? 'paused' : 'resumed'} already: ${done.map((c) => `#${c}`).join(', ')})` : '';
      const error = toGitlabJobError(err, { action: `${payload.paused ? 'pause' : 'resume'} runner #${id}`, gitlabUrl: ctx.gitlabUrl, userToken: true });
      error.message = `${error.message}${partly}`;
      throw error;
    }
  }
  const sharedWith = Object.fromEntries(Object.entries(payload.hostsOf).filter(([, hosts]) => hosts.length > 1));
  return { paused: payload.paused, changed, already, ...(payload.reason ? { reason: payload.reason } : {}), note: payload.paused ? note : '', sharedWith };
}

const ids = (list: number[]) => list.map((id) => `#${id}`).join(', ');

export function summarize(result: Result): string {
  const verb = result.paused ? 'paused' : 'resumed';
  const parts = [result.changed.length > 0 ? `${verb} ${ids(result.changed)}` : `nothing to ${result.paused ? 'pause' : 'resume'}`];
  const was = result.already.length === 1 ? 'was' : 'were';
  if (result.already.length > 0) parts.push(result.paused ? `${ids(result.already)} ${was} paused already` : `${ids(result.already)} ${was} not paused`);
  if (result.reason) parts.push(`reason: ${result.reason}`);
  const shared = Object.entries(result.sharedWith).map(([id, hosts]) => `runner #${id} is on ${hosts.join(', ')}: ${verb} on all of them`);
  return [parts.join('; '), ...shared].join('\n');
}
