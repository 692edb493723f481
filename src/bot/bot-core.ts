import type { Redis } from 'ioredis';
import type { ApprovalDeps } from '../approvals/decide-approval.js';
import type { Logger } from '../logger.js';
import type { ExecuteDeps } from '../verbs/execute-command.js';
import type { Surface } from './surface.js';

/** Everything the bot's handlers share, built once by start-bot (tests build their own). */
export interface BotCore extends ExecuteDeps, ApprovalDeps {
  redis: Redis;
  log: Logger;
  surface: Surface;
  /** Resolves when this replica changes the command's rows, or after `timeoutMs` (cards wait a moment for fast commands). */
  rowsChanged?: (commandId: string, timeoutMs: number) => Promise<void>;
}
