import { appendFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { redact } from '../secrets/redact.js';
import { keys } from '../queue/names.js';

export type AuditKind = 'command' | 'refused' | 'approval' | 'result' | 'schedule' | 'watch' | 'security' | 'enrolment';

/** One audit entry: who did what, where, when, and how it ended. Never a secret. */
export interface AuditEntry {
  at: number;
  kind: AuditKind;
  /** Slack user id, `cli:<login>`, `schedule:<name>` or `host:<name>`. */
  actor: string;
  channel?: string;
  /** The command text, or the decision ("approved", "denied: <reason>"). */
  action: string;
  commandId?: string;
  approvalId?: string;
  outcome?: string;
}

export interface AuditSink {
  append: (entry: Omit<AuditEntry, 'at'> & { at?: number }) => Promise<void>;
  read: (limit: number) => Promise<AuditEntry[]>;
}

const MAX_ENTRIES = 100_000;

/**
 * The append-only audit log: a bounded Redis stream, mirrored as JSON lines to `file` (or stdout when
 * file is "-") when configured. Every string goes through the token redactor first.
 */
export function createAuditLog(redis: Redis, prefix: string, options: { file?: string } = {}): AuditSink {
  const key = keys.audit(prefix);
  return {
    async append(partial) {
      const entry = JSON.parse(redact(JSON.stringify({ at: Date.now(), ...partial }))) as AuditEntry;
      const line = JSON.stringify(entry);
      await redis.xadd(key, 'MAXLEN', '~', String(MAX_ENTRIES), '*', 'e', line);
      if (options.file === '-') process.stdout.write(`${line}\n`);
      else if (options.file) await appendFile(options.file, `${line}\n`, { mode: 0o600 });
    },
    async read(limit) {
      const entries = (await redis.xrevrange(key, '+', '-', 'COUNT', limit)) as [string, string[]][];
      return entries.flatMap(([, fields]) => (fields[1] === undefined ? [] : [JSON.parse(fields[1]) as AuditEntry]));
    },
  };
}
