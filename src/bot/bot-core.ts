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
}
