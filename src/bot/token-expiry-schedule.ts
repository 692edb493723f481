import type { Policy } from '../policy/schema.js';

/** The built-in schedule of the daily token-expiry check (policy `tokenExpiry`). */
export const TOKEN_EXPIRY_SCHEDULE = 'token-expiry';

/**
 * The policy's schedules plus the token-expiry check, which runs on the same BullMQ job schedulers (once
 * per occurrence across replicas). Without a reports channel there is nowhere to warn, so it is left out.
 */
export function withTokenExpirySchedule(policy: Policy): Policy {
  const channel = policy.channels.reports;
  if (!channel || policy.schedules.some((s) => s.name === TOKEN_EXPIRY_SCHEDULE)) return policy;
  return {
    ...policy,
    schedules: [
      ...policy.schedules,
      { name: TOKEN_EXPIRY_SCHEDULE, cron: policy.tokenExpiry.cron, timezone: policy.tokenExpiry.timezone, command: 'hosts', channel, enabled: true },
    ],
  };
}
