import type { Redis } from 'ioredis';
import type { ApprovalStore } from '../approvals/approval-store.js';
import type { AuditSink } from '../audit/audit-log.js';
import type { StaleRunner } from '../clients/gitlab/stale-runners.js';
import type { GroupMembers } from '../policy/decide.js';
import type { Policy } from '../policy/schema.js';
import type { BotTrust } from '../queue/bot-trust.js';
import type { QueuePool } from '../queue/queue-pool.js';
import type { Signer } from '../queue/signing-keys.js';

/** What running a command needs: Redis, the queues, the keys, the policy, the audit log and the approvals. */
export interface ExecuteDeps {
  redis: Redis;
  prefix: string;
  queues: QueuePool;
  /** The bot's signing key and what it trusts: jobs are signed, hosts must be enrolled. */
  trust: BotTrust;
  signer: Signer;
  policy: Policy;
  audit: AuditSink;
  approvals: ApprovalStore;
  members: GroupMembers;
  /** How commands are written back to the user: "/runner" in Slack, "runnerops" in a terminal. */
  commandPrefix: string;
  /** Lists schedules with their next run (the bot's scheduler); absent where there is none. */
  listSchedules?: () => Promise<string>;
  /**
   * The runners `cleanup-stale` would delete (GitLab with the bot's token), read when it is requested so
   * the approval freezes that list; absent where the bot has no GitLab access.
   */
  findStaleRunners?: (cutoff: number) => Promise<StaleRunner[]>;
}
