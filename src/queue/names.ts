/**
 * Queue and key names. Every key starts with the configured prefix, a Redis hash tag such as
 * `{runnerops}`, so BullMQ's multi-key scripts stay in one Cluster slot.
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
  /** Hash: host name -> JSON HostEntry. */
  hosts: (prefix: string) => `${prefix}:hosts`,
  /** Hash: host name -> last heartbeat (ms since epoch); kept apart so a beat never rewrites the entry. */
  heartbeats: (prefix: string) => `${prefix}:heartbeats`,
  /** Stream of job events (progress, completed, failed) from workers to bots and CLIs. */
  events: (prefix: string) => `${prefix}:events`,
  /** Hash: the command's request, requester, hosts and card location. */
  command: (prefix: string, id: string) => `${prefix}:command:${id}`,
  /** Hash: host -> JSON row (status, phase, summary, timings). */
  commandRows: (prefix: string, id: string) => `${prefix}:command:${id}:rows`,
  /** List of recent command ids, newest first. */
  commands: (prefix: string) => `${prefix}:commands`,
};
