import os from 'node:os';
import { createApprovalStore, unpostedKey } from '../approvals/approval-store.js';
import { createAuditLog } from '../audit/audit-log.js';
import { commandTimeoutMs } from '../bot/handle-command-line.js';
import { readCommonSettings } from '../config.js';
import { loadPolicy } from '../policy/load-policy.js';
import type { Policy } from '../policy/schema.js';
import { cardFor } from '../bot/on-command-change.js';
import { rowLine } from '../present/command-card.js';
import { isTerminal, readCommand, type CommandRow } from '../queue/command-record.js';
import { checkRedis } from '../queue/check-redis.js';
import { latestEventId } from '../queue/events.js';
import { followCommand } from '../queue/follow-command.js';
import { createQueuePool } from '../queue/queue-pool.js';
import { createRedis } from '../queue/redis.js';
import { executeCommand } from '../verbs/execute-command.js';

export interface VerbRun {
  env: Record<string, string | undefined>;
  write: (line: string) => void;
  /** Defaults to `cli:<login name>`. */
  user?: string;
  /** Policy override (tests); otherwise RUNNEROPS_POLICY. */
  policy?: Policy;
}

/**
 * `runnerops <verb> ...`: the same command as in Slack, through the same queue, printed as plain text.
 * Waits for queued jobs and prints each host's line as it finishes. Exit code 0 when everything worked.
 */
export async function runVerb(args: string[], run: VerbRun): Promise<number> {
  const settings = readCommonSettings(run.env);
  const policy = run.policy ?? (await loadPolicy(run.env.RUNNEROPS_POLICY));
  const redis = createRedis(settings);
  const blocking = createRedis(settings, { blocking: true });
  const queues = createQueuePool(redis, settings.prefix);
  try {
    await checkRedis(redis, settings.redisUrl);
    const deps = {
      redis,
      prefix: settings.prefix,
      queues,
      policy,
      audit: createAuditLog(redis, settings.prefix),
      approvals: createApprovalStore(redis, settings.prefix),
      members: async () => [],
      commandPrefix: 'runnerops',
    };
    const fromId = await latestEventId(redis, settings.prefix);
    const user = run.user ?? `cli:${os.userInfo().username}`;
    const reply = await executeCommand(deps, args, { via: 'cli', user });
    if (reply.kind === 'text') {
      run.write(reply.text);
      return reply.error ? 1 : 0;
    }
    if (reply.kind === 'approval') {
      await redis.rpush(unpostedKey(settings.prefix), reply.approval.id);
      run.write(`waiting for approval of "${reply.approval.text}" (request ${reply.approval.id}) by ${reply.approval.approvers.join(' or ')}; it expires at ${new Date(reply.approval.expiresAt).toISOString()}`);
      return 0;
    }
    const command = reply.command;
    run.write(`queued ${command.text} [job ${command.id}] on ${command.hosts.join(', ')}`);
    const printed = new Set<string>();
    const printFinished = (rows: CommandRow[]) => {
      for (const row of rows) {
        if (printed.has(row.host) || !isTerminal(row.status)) continue;
        printed.add(row.host);
        run.write(rowLine(row));
        for (const extra of (row.summary ?? '').split('\n').slice(1)) run.write(`    ${extra}`);
      }
    };
    const rows = await followCommand(redis, blocking, settings.prefix, command.id, {
      fromId,
      timeoutMs: commandTimeoutMs(command),
      onEvent: (event) => {
        if (event.type === 'progress') run.write(`  ${event.host}: ${[event.phase, event.detail].filter(Boolean).join(': ')}`);
      },
      onRows: printFinished,
    });
    printFinished(rows);
    const record = (await readCommand(redis, settings.prefix, command.id)) ?? command;
    const card = cardFor(record, rows);
    run.write(card.footer);
    if (card.total) run.write(card.total);
    return rows.every((r) => r.status === 'done') ? 0 : 1;
  } finally {
    await queues.close();
    blocking.disconnect();
    await redis.quit().catch(() => undefined);
  }
}
