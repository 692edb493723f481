import type { AuditEntry } from '../audit/audit-log.js';
import { table } from './format.js';

export function auditText(entries: AuditEntry[]): string {
  if (entries.length === 0) return 'the audit log is empty';
  const rows = [['WHEN (UTC)', 'WHO', 'KIND', 'WHAT', 'OUTCOME']];
  for (const e of entries) {
    rows.push([new Date(e.at).toISOString().slice(0, 19).replace('T', ' '), e.actor, e.kind, e.action, e.outcome ?? '']);
  }
  return table(rows);
}
