import type { Redis } from 'ioredis';
import type { ApprovalStore } from '../approvals/approval-store.js';
import type { AuditSink } from '../audit/audit-log.js';
import type { Logger } from '../logger.js';
import type { CardText } from '../present/command-card.js';
import { cardFor } from '../verbs/card-for.js';
import { readCommand, readRows } from '../queue/command-record.js';
import type { Surface } from './surface.js';
import { keys } from '../queue/names.js';
import { commandTtlSeconds, DEFAULT_RETENTION_SECONDS } from '../queue/retention.js';

export interface CardDeps {
  redis: Redis;
  prefix: string;
  surface: Surface;
  approvals: ApprovalStore;
  audit: AuditSink;
  log: Logger;
  /** Seconds a finished command's keys stay (RUNNEROPS_RETENTION). @defaultValue 14 days */
  retentionSeconds?: number;
}

/**
 * Redraws a command's card from Redis; when every host has finished, once per command (across replicas):
 * audits each host's result and settles the approval it came from.
 */
export async function onCommandChange(deps: CardDeps, commandId: string, options: { shown?: CardText } = {}): Promise<void> {
  const command = await readCommand(deps.redis, deps.prefix, commandId);
  if (!command) return;
  const rows = await readRows(deps.redis, deps.prefix, commandId);
  const card = cardFor(command, rows);
  // A card just posted with this very content needs no update (chat.update is paced per workspace).
  if (command.card && JSON.stringify(card) !== JSON.stringify(options.shown)) await deps.surface.updateCard(command, card);
  if (!card.finished) return;
  const first = await deps.redis.set(
    keys.commandSettled(deps.prefix, commandId),
    '1',
    'EX',
    commandTtlSeconds(deps.retentionSeconds ?? DEFAULT_RETENTION_SECONDS, command.timeoutMs ?? 0),
    'NX',
  );
  if (first !== 'OK') return;
  for (const row of rows) {
    await deps.audit.append({
      kind: 'result',
      actor: `host:${row.host}`,
      action: command.text,
      commandId,
      outcome: `${row.status}${row.summary ? `: ${row.summary.split('\n')[0]}` : ''}`,
      ...(command.approvalId ? { approvalId: command.approvalId } : {}),
    });
  }
  if (command.approvalId) {
    const failed = rows.some((r) => r.status !== 'done');
    const outcome = card.lines.join('\n');
    const { approval } = await deps.approvals.transition(command.approvalId, ['running', 'approved'], failed ? 'failed' : 'done', { outcome });
    if (approval) await deps.surface.updateApproval(approval);
  }
}
