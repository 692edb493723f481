/**
 * Queue and key names: every Redis key runnerops uses is built here. Every key starts with the
 * configured prefix, a Redis hash tag such as `{runnerops}`, so BullMQ's multi-key scripts stay in one
 * Cluster slot. Keys a worker may touch are per host (`:host.<name>:`, `:registry:<name>`, ...) so a
 * Redis ACL can give each worker only its own (see redis-acl.ts).
 */
export const CONTROL_QUEUE = 'control';

export function hostQueueName(host: string): string {
  return `host.${host}`;
}

/** Job ids are `<command id>@<host>`; "@" never appears in a host name or command id. */
export function jobIdFor(commandId: string, host: string): string {
  return `${commandId}@${host}`;
}

export function parseJobId(jobId: string): { commandId: string; host: string } | undefined {
  const at = jobId.lastIndexOf('@');
  if (at <= 0) return undefined;
  return { commandId: jobId.slice(0, at), host: jobId.slice(at + 1) };
}

export const keys = {
  /** Set of host names that ever published an entry (workers SADD their own name). */
  hostIndex: (prefix: string) => `${prefix}:hosts`,
  /** String: the host's signed HostEntry (written by that host's worker only). */
  hostEntry: (prefix: string, host: string) => `${prefix}:registry:${host}`,
  /** String: the host's last heartbeat (ms since epoch); kept apart so a beat never rewrites the entry. */
  heartbeat: (prefix: string, host: string) => `${prefix}:beat:${host}`,
  /** Hash: host name -> bot-signed enrolment record. */
  enrolled: (prefix: string) => `${prefix}:enrolled`,
  /** String with TTL: a security notice about this host and fingerprint was already sent. */
  reportedKey: (prefix: string, host: string, fingerprint: string) => `${prefix}:reported-key:${host}:${fingerprint}`,
  /** Stream of signed job events (progress, completed, failed) from workers and the control plane to bots. */
  events: (prefix: string) => `${prefix}:events`,
  /** Stream of command ids whose rows the bot just changed (written by bots, followed by waiting callers). */
  rowChanges: (prefix: string) => `${prefix}:row-changes`,
  /** Stream of signed notices from workers (watch prunes, refused jobs). */
  notices: (prefix: string) => `${prefix}:notices`,
  /** String: bot-signed watch settings for every worker. */
  watchSettings: (prefix: string) => `${prefix}:policy:watch`,
  /** String: one store report history per host (written by that host). */
  storeHistory: (prefix: string, host: string) => `${prefix}:store-history:${host}`,
  /** String with TTL: a control-plane envelope that ran to an end (replay guard of the bot). */
  envelopeDone: (prefix: string, id: string) => `${prefix}:envelope-done:${id}`,
  /** String with TTL: a terminal request nonce already used. */
  cliNonce: (prefix: string, nonce: string) => `${prefix}:cli-nonce:${nonce}`,
  /** Hash: the command's request, requester, hosts and card location. */
  command: (prefix: string, id: string) => `${prefix}:command:${id}`,
  /** Hash: host -> JSON row (status, phase, summary, timings); written by bots only. */
  commandRows: (prefix: string, id: string) => `${prefix}:command:${id}:rows`,
  /** List of recent command ids, newest first. */
  commands: (prefix: string) => `${prefix}:commands`,
  /** String with TTL: the command's results were audited and its approval settled (once across replicas). */
  commandSettled: (prefix: string, id: string) => `${prefix}:command:${id}:settled`,
  /** Sorted set: command id by the time its silent hosts are marked. */
  deadlines: (prefix: string) => `${prefix}:deadlines`,
  /** Stream: the audit log (bounded). */
  audit: (prefix: string) => `${prefix}:audit`,
  /** String: one approval request (state outside, the sealed request inside). */
  approval: (prefix: string, id: string) => `${prefix}:approval:${id}`,
  /** Sorted set: pending approval ids by expiry. */
  pendingApprovals: (prefix: string) => `${prefix}:approvals:pending`,
  /** Set: approvals approved but not yet queued (a bot stopped in between). */
  strandedApprovals: (prefix: string) => `${prefix}:approvals:approved`,
  /** Strings: when a schedule last ran, and when this bot first saw it. */
  scheduleLastRun: (prefix: string, name: string) => `${prefix}:schedule:${name}:last-run`,
  scheduleFirstSeen: (prefix: string, name: string) => `${prefix}:schedule:${name}:first-seen`,
  /** String with TTL: a Slack delivery (trigger or event id) already handled. */
  slackSeen: (prefix: string, id: string) => `${prefix}:slack-seen:${id}`,
  /** String: the runner a registration attempt created (a rerun deletes or keeps it). */
  registerAttempt: (prefix: string, requestId: string) => `${prefix}:register:${requestId}`,
  /** Strings: the next free slot of a paced Slack method, and until when a 429 blocks it. */
  slackPace: (prefix: string, method: string) => `${prefix}:slack-pace:${method}`,
  /** Sorted set: who looked at App Home lately (user id by last view). */
  homeViewers: (prefix: string) => `${prefix}:home-viewers`,
  /** String with TTL: one user's Home tab was just republished (debounce across replicas). */
  homeRefresh: (prefix: string, user: string) => `${prefix}:home-refresh:${user}`,
  /** String: counts and mismatches of the last fleet-wide `runners` view (written by bots, read by App Home). */
  runnersSummary: (prefix: string) => `${prefix}:runners-summary`,
  /** String: the runners a drain paused (a rerun unpauses them). */
  drainPaused: (prefix: string, requestId: string) => `${prefix}:drain:${requestId}:paused`,
};

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A host name as used in commands and queue names: letters, digits, dot, dash, underscore. */
export function isValidHostName(name: string): boolean {
  return HOST_NAME.test(name) && name !== 'all';
}
