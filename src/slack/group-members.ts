import type { WebClient } from '@slack/web-api';
import type { GroupMembers } from '../policy/decide.js';

/** usergroups.users.list with a short cache, so a burst of commands makes one call per group. */
export function cachedGroupMembers(client: WebClient, ttlMs = 60_000): GroupMembers {
  const cache = new Map<string, { at: number; users: Promise<string[]> }>();
  return async (groupId) => {
    const hit = cache.get(groupId);
    if (hit && Date.now() - hit.at < ttlMs) return hit.users;
    const users = client.usergroups.users.list({ usergroup: groupId }).then((r) => r.users ?? []);
    cache.set(groupId, { at: Date.now(), users });
    users.catch(() => cache.delete(groupId));
    return users;
  };
}
