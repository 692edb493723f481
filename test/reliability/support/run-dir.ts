import { appendFileSync, createWriteStream, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../../src/logger.js';

/**
 * The run directory shared by every scenario of one reliability run (made by global-setup.ts):
 * `logs/` (process and in-process logs), `artifacts/` (Redis dumps, Slack messages, job results),
 * `secrets.txt` (every token the run issued, one a line) and `figures.jsonl`.
 */
export function runDir(): string {
  return inject('reliabilityRunDir');
}

/** Remembers tokens and secrets this run issued, for the final search (no-secret-anywhere.rel.ts). */
export function recordSecrets(...secrets: string[]): void {
  const lines = secrets.filter((s) => s.length >= 8).map((s) => `${s}\n`);
  if (lines.length > 0) appendFileSync(path.join(runDir(), 'secrets.txt'), lines.join(''), { mode: 0o600 });
}

/** Writes something the run produced (a Redis dump, Slack messages...) where the secret search reads it. */
export async function saveArtifact(name: string, text: string): Promise<string> {
  const file = path.join(runDir(), 'artifacts', name);
  await writeFile(file, text);
  return file;
}

export function logPath(name: string): string {
  return path.join(runDir(), 'logs', `${name}.log`);
}

/** A logger for in-process bots and workers that writes JSON lines to logs/<name>.log (debug level). */
export function fileLogger(name: string, level = 'info'): { log: Logger; close: () => Promise<void> } {
  const stream: WriteStream = createWriteStream(logPath(name), { flags: 'a' });
  const log = createLogger({ name, level, destination: stream });
  return { log, close: () => new Promise((resolve) => stream.end(() => resolve())) };
}
