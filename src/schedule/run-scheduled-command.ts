import type { BotCore } from '../bot/bot-core.js';
import { commandTimeoutMs } from '../bot/handle-command-line.js';
import { parseCommand } from '../commands/parse.js';
import type { Request } from '../commands/requests.js';
import { describeError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { CommandRecord, CommandRow, Requester } from '../queue/command-record.js';
import { latestEventId } from '../queue/events.js';
import { followCommand } from '../queue/follow-command.js';
import { listTrustedHosts } from '../queue/bot-trust.js';
import { executeCommand } from '../verbs/execute-command.js';
import { grammarOf, reportOf, type ReportKind } from '../verbs/verb-table.js';
import { formatInZone } from './cron-times.js';
import { pruneReportText } from '../present/prune-report.js';
import { rowsReportText } from '../present/rows-report.js';
import type { OccurrenceInfo, Schedule } from './start-scheduler.js';
import { storeReport } from './store-report.js';
import type { ScheduledReport } from './scheduled-report.js';

export type { ScheduledReport } from './scheduled-report.js';

export interface ScheduledRunOptions {
  /** How long to wait for the hosts. @defaultValue the job's own timeout (10 minutes unless it sets one) */
  timeoutMs?: number;
}

/** A role name the policy schema cannot produce (role names are lower case), so it never meets a real one. */
const SCHEDULE_ROLE = 'SCHEDULE';

/**
 * The policy as a schedule sees it. Decision: a schedule runs with the policy's own authority. It is
 * trusted because it is in the policy file, written by the same people who grant roles; so its command
 * needs no role, no channel and no approval. The exceptions are the verbs whose grammar row says they
 * always need a second person (`rotate`, `enroll`; `unregister` and `cleanup-stale` but for their dry
 * run): a schedule refuses them (`refusal`).
 */
function withScheduleAuthority(policy: Policy, user: string, verb: string): Policy {
  return {
    ...policy,
    roles: { ...policy.roles, [SCHEDULE_ROLE]: { users: [user], groups: [] } },
    verbs: { ...policy.verbs, [verb]: { run: [SCHEDULE_ROLE], request: [], approve: [], channels: [] } },
  };
}

function parseQuietly(command: string): Request | undefined {
  try {
    return parseCommand(command);
  } catch {
    return undefined; // executeCommand reports the parse error in its own words.
  }
}

/** For a command on `all`: registered hosts it did not reach because their heartbeat had expired. */
async function unreachedHosts(core: BotCore, request: Request | undefined, command: CommandRecord): Promise<string | undefined> {
  if (!request || !('target' in request) || request.target.kind !== 'all') return undefined;
  const missing = (await listTrustedHosts(core.redis, core.prefix, core.trust)).filter((h) => !command.hosts.includes(h.name)).map((h) => h.name);
  return missing.length > 0 ? `not asked, heartbeat expired: ${missing.join(', ')}` : undefined;
}

async function follow(core: BotCore, command: CommandRecord, fromId: string, timeoutMs: number): Promise<CommandRow[]> {
  // XREAD BLOCK holds its connection: one of its own for this run.
  const blocking = core.redis.duplicate();
  try {
    return await followCommand(core.redis, blocking, core.prefix, command.id, { fromId, timeoutMs });
  } finally {
    blocking.disconnect();
  }
}

/** Each report a verb's row can name (`report` in src/verbs/verb-table.ts), by its name. */
const REPORTS: Record<ReportKind, (core: BotCore, rows: CommandRow[], timeoutMs: number) => Promise<ScheduledReport>> = {
  rows: async (_core, rows, timeoutMs) => ({ text: rowsReportText(rows, timeoutMs) }),
  prune: async (_core, rows, timeoutMs) => ({ text: pruneReportText(rows, timeoutMs) }),
  store: storeReport,
};

/**
 * Why a schedule does not run `request`: a verb that always needs a second person's approval (its
 * grammar row's rule), or its real run where only the dry run goes without one.
 */
function refusal(request: Request): string | undefined {
  const rule = grammarOf(request.verb).approval;
  if (rule === 'always') return `${request.verb} cannot run on a schedule: it always needs a second person's approval; remove it from "schedules:"`;
  if (rule === 'always unless dry run' && !('dryRun' in request && request.dryRun)) {
    return `${request.verb} cannot run on a schedule: it always needs a second person's approval; schedule its --dry-run instead`;
  }
  return undefined;
}

async function produce(core: BotCore, schedule: Schedule, requester: Requester, options: ScheduledRunOptions): Promise<ScheduledReport> {
  const request = parseQuietly(schedule.command);
  const verb = request?.verb;
  const refused = request && refusal(request);
  if (refused) return { text: refused };
  const fromId = await latestEventId(core.redis, core.prefix, 'rowChanges');
  const deps = verb ? { ...core, policy: withScheduleAuthority(core.policy, requester.user, verb) } : core;
  const reply = await executeCommand(deps, schedule.command, requester);
  switch (reply.kind) {
    case 'text':
      return { text: reply.text };
    case 'approval':
      return { text: `waiting for approval (request ${reply.approval.id})` };
    case 'queued': {
      const timeoutMs = options.timeoutMs ?? commandTimeoutMs(reply.command);
      const rows = await follow(core, reply.command, fromId, timeoutMs);
      const count = (status: CommandRow['status']) => rows.filter((r) => r.status === status).length;
      const outcome = `${count('done')} done, ${count('failed')} failed, ${count('silent')} did not answer`;
      const report = await REPORTS[reportOf(reply.command.verb)](core, rows, timeoutMs);
      const unreached = await unreachedHosts(core, request, reply.command);
      return { ...report, text: unreached ? `${report.text}\n${unreached}` : report.text, commandId: reply.command.id, outcome };
    }
  }
}

/**
 * Runs one occurrence of a schedule: its command through executeCommand as `schedule:<name>`, waits for
 * every host (silent ones are named), posts ONE summary to the schedule's channel, and audits it as a
 * `schedule` entry. A failure is posted and audited too, never thrown away.
 */
export async function runScheduledCommand(
  core: BotCore,
  schedule: Schedule,
  info: OccurrenceInfo,
  options: ScheduledRunOptions = {},
): Promise<ScheduledReport> {
  const requester: Requester = { via: 'schedule', user: `schedule:${schedule.name}`, channel: schedule.channel };
  let report: ScheduledReport;
  let failed = false;
  try {
    report = await produce(core, schedule, requester, options);
  } catch (err) {
    core.log.error({ err, schedule: schedule.name }, 'a scheduled command failed');
    report = { text: `could not run: ${describeError(err)}` };
    failed = true;
  }
  const late = info.late ? ` (late: was due at ${formatInZone(info.scheduledFor, schedule.timezone)})` : '';
  const job = report.commandId ? `, job ${report.commandId}` : '';
  const text = `Scheduled "${schedule.name}": ${schedule.command}${late}${job}\n${report.text}`;
  try {
    await core.surface.post(schedule.channel, text, report.attachment);
  } catch (err) {
    core.log.error({ err, schedule: schedule.name }, 'could not post a scheduled report');
    failed = true;
  }
  await core.audit.append({
    kind: 'schedule',
    actor: requester.user,
    channel: schedule.channel,
    action: schedule.command,
    ...(report.commandId ? { commandId: report.commandId } : {}),
    outcome: `${failed ? 'failed' : 'posted'}${info.late ? ' (late)' : ''}: ${report.outcome ?? report.text.split('\n')[0]}`,
  });
  return { ...report, text };
}
