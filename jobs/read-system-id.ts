import path from 'node:path';
import type { JobContext } from './job-context.js';
import { SYSTEM_ID_FILE } from '../src/clients/runner-config/system-id.js';
import { readIfExists } from '../src/clients/runner-config/write-file-atomic.js';
import type { Payload } from '../src/queue/payloads/read-system-id.js';

export { name, payloadSchema, type Payload } from '../src/queue/payloads/read-system-id.js';

export interface Result {
  host: string;
  /** The runner-manager id GitLab knows this host by (`.runner_system_id` next to config.toml); null: none yet. */
  systemId: string | null;
}

const VALID = /^[sr]_[0-9A-Za-z]{12}$/;

/**
 * This host's system id, read only (never created: a host without one has not talked to GitLab as a
 * runner manager yet). The drain uses it to pause and count only this host's share of a runner.
 */
export async function run(_payload: Payload, ctx: Pick<JobContext, 'host' | 'settings'>): Promise<Result> {
  const text = (await readIfExists(path.join(path.dirname(ctx.settings.runnerConfigPath), SYSTEM_ID_FILE)))?.trim();
  return { host: ctx.host, systemId: text && VALID.test(text) ? text : null };
}

export function summarize(result: Result): string {
  return result.systemId ? `${result.host} is runner manager ${result.systemId}` : `${result.host} has no runner system id yet`;
}
