import { readCommonSettings, isValidHostName } from '../config.js';
import { UserError } from '../errors.js';
import { aclLine } from '../queue/redis-acl.js';

/**
 * `runnerops acl bot` / `runnerops acl worker <host> [<host>...]`: the Redis ACL lines of each role
 * (docs/security.md), with a `<password>` placeholder (or RUNNEROPS_ACL_PASSWORD) to fill in.
 */
export async function runAcl(args: string[], env: Record<string, string | undefined>, write: (line: string) => void): Promise<number> {
  const { prefix } = readCommonSettings(env);
  const password = env.RUNNEROPS_ACL_PASSWORD?.trim() || '<password>';
  const [role, ...hosts] = args;
  if (role === 'bot' && hosts.length === 0) {
    write(aclLine(prefix, { role: 'bot' }, 'runnerops-bot', password));
    return 0;
  }
  if (role === 'worker' && hosts.length > 0) {
    for (const host of hosts) {
      if (!isValidHostName(host)) throw new UserError(`"${host}" is not a host name; use letters, digits, ".", "-" or "_"`);
      write(aclLine(prefix, { role: 'worker', host }, `runnerops-worker-${host}`, password));
    }
    return 0;
  }
  throw new UserError('usage: runnerops acl bot | runnerops acl worker <host> [<host> ...]');
}
