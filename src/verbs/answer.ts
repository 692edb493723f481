import type { RequestOf, Verb } from '../commands/requests.js';
import { parseDuration } from '../commands/duration.js';
import { UserError } from '../errors.js';
import { auditText } from '../present/audit.js';
import { cardAsText } from '../present/command-card.js';
import { recentCommandsText } from '../present/commands.js';
import { helpText } from '../present/help.js';
import { hostsText } from '../present/hosts.js';
import { listTrustedHosts } from '../queue/bot-trust.js';
import { readCommand, readRows, recentCommandIds, type CommandRecord } from '../queue/command-record.js';
import { cardFor } from './card-for.js';
import type { ExecuteDeps } from './execute-deps.js';

/** How a verb that queues nothing answers: one text reply (its row in verb-table.ts names the function). */
export type Answer<V extends Verb> = (deps: ExecuteDeps, request: RequestOf<V>) => Promise<string>;

export const answerHelp: Answer<'help'> = async (deps, request) => helpText(request.topic, deps.commandPrefix);

export const answerHosts: Answer<'hosts'> = async (deps, request) =>
  hostsText(await listTrustedHosts(deps.redis, deps.prefix, deps.trust), {
    ...(request.filter ? { filter: request.filter } : {}),
    ...(request.page ? { page: request.page } : {}),
    commandPrefix: deps.commandPrefix,
    tokenWarnSeconds: parseDuration(deps.policy.tokenExpiry.warnWithin, 'tokenExpiry.warnWithin'),
  });

export const answerJobs: Answer<'jobs'> = async (deps, request) => {
  const ids = await recentCommandIds(deps.redis, deps.prefix, request.limit);
  const commands = await Promise.all(
    ids.map(async (id) => ({ command: await readCommand(deps.redis, deps.prefix, id), rows: await readRows(deps.redis, deps.prefix, id) })),
  );
  return recentCommandsText(commands.filter((c): c is { command: CommandRecord; rows: typeof c.rows } => c.command !== undefined));
};

export const answerJob: Answer<'job'> = async (deps, request) => {
  const command = await readCommand(deps.redis, deps.prefix, request.id);
  if (!command) throw new UserError(`no job "${request.id}"; "${deps.commandPrefix} jobs" lists recent ones`);
  // With the job's own total (a one-host store report in full, the runners view...), as on the card.
  return cardAsText(cardFor(command, await readRows(deps.redis, deps.prefix, request.id)));
};

export const answerAudit: Answer<'audit'> = async (deps, request) => auditText(await deps.audit.read(request.limit));

export const answerSchedules: Answer<'schedules'> = async (deps) =>
  deps.listSchedules ? deps.listSchedules() : 'no scheduler runs here; schedules are kept by "runnerops bot"';
