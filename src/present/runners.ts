import type { Mismatch, RunnerRow, RunnersView } from '../reports/runner-view.js';
import { formatAge } from './format.js';

const TYPE: Record<string, string> = { instance_type: 'instance', group_type: 'group', project_type: 'project' };

/** "9 online, 1 offline, 1 stale, 0 never contacted; 2 paused; 3 mismatches". */
export function runnerCountsText(view: Pick<RunnersView, 'counts' | 'paused'> & { mismatches: number }): string {
  const c = view.counts;
  const mismatches = view.mismatches;
  return `${c.online} online, ${c.offline} offline, ${c.stale} stale, ${c.never_contacted} never contacted; ${view.paused} paused; ${mismatches} mismatch${mismatches === 1 ? '' : 'es'}`;
}

/** The first line: how many runners, whose view, the counts. */
export function runnersHeadline(view: RunnersView): string {
  const whose = view.scope === 'all' ? 'in GitLab' : "GITLAB_TOKEN's user manages (not an admin: others are not listed)";
  const where = view.host !== undefined ? ` on ${view.host}` : '';
  return `${view.runners.length} runner${view.runners.length === 1 ? '' : 's'}${where} ${whose}: ${runnerCountsText({ ...view, mismatches: view.mismatches.length })}`;
}

function expiry(at: string | undefined, now: number): string {
  if (at === undefined) return 'token does not expire (or unknown)';
  const ms = Date.parse(at) - now;
  return ms <= 0 ? `token EXPIRED ${at.slice(0, 10)}` : `token expires ${at.slice(0, 10)} (in ${Math.max(1, Math.floor(ms / 86_400_000))} d)`;
}

/** One runner: id, type, description, status, paused (and why), contact, version, managers -> hosts, token expiry. */
export function runnerLine(row: RunnerRow, now = Date.now()): string {
  const paused = row.paused ? `, PAUSED${row.maintenanceNote ? ` (${row.maintenanceNote.replace(/\s+/g, ' ').slice(0, 200)})` : ''}` : '';
  const contact = row.contactedAt ? `contacted ${formatAge((now - Date.parse(row.contactedAt)) / 1000)}` : 'never contacted';
  const managers = row.managers.length === 0 ? 'no managers' : `managers ${row.managers.map((m) => `${m.systemId} -> ${m.host ?? '(no host)'}`).join(', ')}`;
  const hosts = row.hosts.length === 0 ? 'in no config.toml' : `in config.toml of ${row.hosts.join(', ')}`;
  return `#${row.id} ${TYPE[row.type] ?? row.type} "${row.description}": ${row.status}${paused}; ${contact}; version ${row.version ?? '-'}; ${managers}; ${hosts}; ${expiry(row.tokenExpiresAt, now)}`;
}

/** One mismatch and what to do about it. */
export function mismatchLine(m: Mismatch): string {
  switch (m.kind) {
    case 'unknown-to-gitlab':
      return m.id === undefined
        ? `! ${m.host}: config.toml entry "${m.runner}" has no runner id, so GitLab cannot be asked about it`
        : `! ${m.host}: config.toml entry "${m.runner}" (#${m.id}) is unknown to GitLab (deleted there?); "unregister ${m.host} --runner ${m.id}" removes it from the host`;
    case 'on-no-host':
      return `! #${m.id} "${m.description}" (${m.status}) is in no host's config.toml; "cleanup-stale" deletes it once stale, or delete it in GitLab`;
    case 'shared-token':
      return `! one token in config.toml of ${m.hosts.join(', ')} (${m.runners.join(', ')}${m.id !== undefined ? `, #${m.id}` : ''}): the first host to rotate it leaves the others with a dead token; register a runner per host`;
  }
}

/** The whole view as plain lines: headline, one line per runner, then the mismatches. */
export function runnersLines(view: RunnersView, now = Date.now()): string[] {
  const lines = [runnersHeadline(view), ...view.runners.map((r) => runnerLine(r, now))];
  if (view.mismatches.length > 0) lines.push('mismatches:', ...view.mismatches.map(mismatchLine));
  return lines;
}
