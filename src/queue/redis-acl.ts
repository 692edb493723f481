import { hostQueueName, keys } from './names.js';

/** Who a Redis credential is for: the bot (all replicas), or the worker of one host. */
export type AclRole = { role: 'bot' } | { role: 'worker'; host: string };

/** A key pattern that matches one literal key (Redis glob characters escaped). */
function literal(key: string): string {
  return key.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Commands every runnerops process needs besides key access (connection setup, BullMQ's version check). */
const CONNECTION = '+@connection +info +client|setname +client|getname +client|id +client|info';

/**
 * The ACL line (`user ...`) of one role, for `ACL SETUSER` or an aclfile, with `<password>` to fill in.
 * A worker reaches only its own queue, its own registry entry, heartbeat and store history; it may
 * add its name to the host index and append to the event and notice streams (signed there), and read
 * the bot-signed watch settings. Everything else (other hosts' queues, the control queue, approvals,
 * enrolments, command rows, the audit log) is the bot's alone.
 */
export function aclLine(prefix: string, who: AclRole, user: string, password: string): string {
  const start = `user ${user} reset on >${password}`;
  if (who.role === 'bot') return `${start} ~${literal(prefix)}:* resetchannels &${literal(prefix)}* +@all -@dangerous ${CONNECTION}`;
  const ownQueue = `~${literal(`${prefix}:${hostQueueName(who.host)}`)}:*`;
  const ownKeys = [keys.hostEntry(prefix, who.host), keys.heartbeat(prefix, who.host), keys.storeHistory(prefix, who.host)].map((k) => `~${literal(k)}`);
  return [
    start,
    ownQueue,
    ...ownKeys,
    `%R~${literal(keys.watchSettings(prefix))}`,
    'resetchannels',
    // BullMQ runs its own Lua scripts; Redis 7 checks every key a script touches against this user's
    // patterns (test/security/redis-attacker.test.ts shows a script reaching out being refused).
    '-@all +@read +@write +@keyspace +@stream +@list +@hash +@set +@sortedset +@string +@blocking +@transaction +eval +evalsha +script|load +script|exists -@dangerous',
    CONNECTION,
    `(~${literal(keys.hostIndex(prefix))} +sadd)`,
    `(~${literal(keys.events(prefix))} ~${literal(keys.notices(prefix))} +xadd)`,
  ].join(' ');
}
