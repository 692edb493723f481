import { createHmac, randomInt } from 'node:crypto';
import path from 'node:path';
import { readIfExists, writeFileAtomic } from './write-file-atomic.js';

/** gitlab-runner keeps the host's runner-manager id in this file next to config.toml. */
export const SYSTEM_ID_FILE = '.runner_system_id';

const VALID = /^[sr]_[0-9A-Za-z]{12}$/;

/**
 * A new system id the way gitlab-runner makes one: `s_` + the first 12 hex digits of
 * HMAC-SHA256(key = /etc/machine-id, "gitlab-runner"), or `r_` + 12 random characters without a machine id.
 */
export function generateSystemId(machineId: string | undefined): string {
  const id = machineId?.trim();
  if (id) return `s_${createHmac('sha256', id).update('gitlab-runner').digest('hex').slice(0, 12)}`;
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `r_${Array.from({ length: 12 }, () => alphabet[randomInt(alphabet.length)]).join('')}`;
}

/** The system id file next to `configPath`, its id, and whether the file holds it already. */
export interface SystemIdState {
  file: string;
  id: string;
  stored: boolean;
}

/** The system id as readOrCreateSystemId would return it, without writing anything yet. */
export async function peekSystemId(configPath: string, machineIdFile = '/etc/machine-id'): Promise<SystemIdState> {
  const file = path.join(path.dirname(configPath), SYSTEM_ID_FILE);
  const existing = (await readIfExists(file))?.trim();
  if (existing && VALID.test(existing)) return { file, id: existing, stored: true };
  return { file, id: generateSystemId(await readIfExists(machineIdFile).catch(() => undefined)), stored: false };
}

/** Writes the id of a peekSystemId result that is not stored yet. */
export async function storeSystemId(state: SystemIdState): Promise<void> {
  if (!state.stored) await writeFileAtomic(state.file, `${state.id}\n`);
}

/**
 * The system id from `.runner_system_id` next to `configPath`; created (as gitlab-runner would) when
 * absent or unreadable, so GitLab records this host as one runner manager.
 */
export async function readOrCreateSystemId(configPath: string, machineIdFile = '/etc/machine-id'): Promise<string> {
  const state = await peekSystemId(configPath, machineIdFile);
  await storeSystemId(state);
  return state.id;
}
