import type { HostFilter } from '../commands/requests.js';
import type { HostStatus } from '../queue/host-registry.js';
import { formatAge, formatBytes, table } from './format.js';
import { classifyHosts, formatNumber, needsAttention, STATE_LABELS, summaryLine, type ClassifiedHost, type HostStateOptions } from './host-states.js';

/** Up to this many hosts, plain `hosts` lists every one of them, as it always did. */
export const SMALL_FLEET = 50;
/** Hosts that need attention listed by plain `hosts` in a larger fleet. */
export const ATTENTION_SHOWN = 25;
/** Hosts per page of `hosts all`, `hosts <state>`, `hosts <prefix>` (`hosts attention` pages by ATTENTION_SHOWN, so its page 2 follows plain `hosts`). */
export const HOSTS_PER_PAGE = 50;
/** Runners named per host in the longer lists; the rest are counted. */
const RUNNERS_SHOWN = 3;

export interface HostsView extends HostStateOptions {
  /** Which hosts: every one, those that need attention, one state, or names starting with a prefix. @defaultValue the fleet view */
  filter?: HostFilter;
  /** 1-based page of the filtered list. @defaultValue 1 */
  page?: number;
  /** How commands are written back: "/runner" in Slack, "runnerops" in a terminal. @defaultValue "/runner" */
  commandPrefix?: string;
}

function expiry(iso: string | undefined, now: number): string {
  if (!iso) return 'no expiry';
  const left = (Date.parse(iso) - now) / 1000;
  if (Number.isNaN(left)) return 'expiry unknown';
  if (left <= 0) return 'EXPIRED';
  return `expires in ${left < 172800 ? `${Math.round(left / 3600)}h` : `${Math.round(left / 86400)}d`}`;
}

function hostRow(host: HostStatus, now: number, runnersShown = Infinity): string[] {
  const versions = [
    `runnerops ${host.versions.runnerops}`,
    host.versions.docker && `docker ${host.versions.docker}`,
    host.versions.nix && `nix ${host.versions.nix}`,
  ]
    .filter(Boolean)
    .join(', ');
  const disk = host.disk?.dockerFreeBytes !== undefined ? formatBytes(host.disk.dockerFreeBytes) : '-';
  const all = host.runners ?? [];
  const named = all.slice(0, runnersShown).map((r) => `${r.name}${r.id ? ` #${r.id}` : ''} (${expiry(r.tokenExpiresAt, now)})`);
  if (all.length > named.length) named.push(`+${all.length - named.length} more`);
  return [host.name, `${formatAge(host.ageSeconds)}${host.alive ? '' : ' (EXPIRED)'}`, versions, disk, named.join('; ') || '-'];
}

/**
 * `hosts`: up to SMALL_FLEET hosts, one line each with heartbeat age (expired ones marked), versions,
 * disk and runners. A larger fleet gets its counts by state first, then the hosts that need attention
 * (most urgent first, at most ATTENTION_SHOWN), then how to see the rest; `hosts all`, `hosts <state>`
 * and `hosts <prefix>` list pages of HOSTS_PER_PAGE.
 */
export function hostsText(hosts: HostStatus[], view: HostsView = {}): string {
  const now = view.now ?? Date.now();
  if (hosts.length === 0) return 'no hosts are registered; start "runnerops worker" on a runner host';
  if (view.filter === undefined && hosts.length <= SMALL_FLEET) return smallFleetText(hosts, now);
  const classified = classifyHosts(hosts, { ...view, now });
  return view.filter === undefined ? fleetText(classified, view, now) : listText(classified, view.filter, view, now);
}

/** Every host, as `hosts` has always shown a small fleet. */
function smallFleetText(hosts: HostStatus[], now: number): string {
  const rows = [['HOST', 'HEARTBEAT', 'VERSIONS', 'DISK FREE', 'RUNNERS'], ...hosts.map((host) => hostRow(host, now))];
  const dead = hosts.filter((h) => !h.alive).length;
  const footer = `${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${hosts.length - dead} alive${dead ? `, ${dead} with an expired heartbeat` : ''}`;
  return [table(rows), footer, ...trustLines(hosts)].join('\n');
}

function stateTable(hosts: ClassifiedHost[], now: number): string {
  const rows = [['HOST', 'STATE', 'HEARTBEAT', 'VERSIONS', 'DISK FREE', 'RUNNERS']];
  for (const { host, states } of hosts) {
    const [name, ...rest] = hostRow(host, now, RUNNERS_SHOWN);
    rows.push([name!, states.map((s) => STATE_LABELS[s]).join(', '), ...rest]);
  }
  return table(rows);
}

/** A larger fleet: counts by state, the hosts that need attention, and how to see the rest. */
function fleetText(hosts: ClassifiedHost[], view: HostsView, now: number): string {
  const prefix = view.commandPrefix ?? '/runner';
  const attention = hosts.filter(needsAttention);
  const shown = attention.slice(0, ATTENTION_SHOWN);
  const lines = [summaryLine(hosts)];
  if (shown.length === 0) {
    lines.push('nothing needs attention');
  } else {
    lines.push(`need attention${attention.length > shown.length ? ` (the ${shown.length} most urgent of ${formatNumber(attention.length)})` : ''}:`);
    lines.push(stateTable(shown, now), ...trustLines(shown.map((h) => h.host)));
  }
  const more = attention.length > shown.length ? `"${prefix} hosts attention --page 2" for the next hosts that need attention, ` : '';
  lines.push(
    `${more}"${prefix} hosts all" for every host (${HOSTS_PER_PAGE} a page), "${prefix} hosts <state|prefix>" for some (states: ${Object.keys(STATE_LABELS).join(', ')})`,
  );
  return lines.join('\n');
}

/** One page of the hosts a filter picks, with the fleet's counts first and the way to the next page last. */
function listText(hosts: ClassifiedHost[], filter: HostFilter, view: HostsView, now: number): string {
  const prefix = view.commandPrefix ?? '/runner';
  const picked = hosts.filter((h) => matches(h, filter));
  const what = filter.kind === 'all' ? '' : ` matching "${filterWord(filter)}"`;
  if (picked.length === 0) return `${summaryLine(hosts)}\nno host matches "${filterWord(filter)}"; "${prefix} hosts all" lists every host`;
  const perPage = filter.kind === 'attention' ? ATTENTION_SHOWN : HOSTS_PER_PAGE;
  const pages = Math.ceil(picked.length / perPage);
  const page = Math.min(Math.max(1, view.page ?? 1), pages);
  const shown = picked.slice((page - 1) * perPage, page * perPage);
  const first = (page - 1) * perPage + 1;
  const position = `hosts ${formatNumber(first)}-${formatNumber(first + shown.length - 1)} of ${formatNumber(picked.length)}${what}`;
  const next =
    page < pages ? `; "${prefix} hosts ${filterWord(filter)} --page ${page + 1}" for the next ${Math.min(perPage, picked.length - page * perPage)}` : '';
  return [summaryLine(hosts), stateTable(shown, now), ...trustLines(shown.map((h) => h.host)), `${position} (page ${page} of ${pages})${next}`].join('\n');
}

function matches(host: ClassifiedHost, filter: HostFilter): boolean {
  switch (filter.kind) {
    case 'all':
      return true;
    case 'attention':
      return needsAttention(host);
    case 'state':
      return host.states.includes(filter.state);
    case 'prefix':
      return host.host.name.startsWith(filter.prefix);
  }
}

function filterWord(filter: HostFilter): string {
  switch (filter.kind) {
    case 'all':
    case 'attention':
      return filter.kind;
    case 'state':
      return filter.state;
    case 'prefix':
      return filter.prefix;
  }
}

/** Hosts nothing runs on until a person acts: pending enrolment (with the fingerprint to compare), changed keys. */
export function trustLines(hosts: HostStatus[]): string[] {
  return hosts.flatMap((h) => {
    switch (h.trust) {
      case 'pending':
        return [`pending enrolment: ${h.name} presents ${h.fingerprint}; compare it with "runnerops fingerprint" on the host, then "enroll ${h.name}"`];
      case 'key-changed':
        return [
          `KEY CHANGED: ${h.name} presents ${h.fingerprint ?? 'no valid key'}, enrolled ${h.enrolledFingerprint}; nothing runs there until it is enrolled again`,
        ];
      case 'unsigned':
        return [`no signed entry: ${h.name} (an older worker, or not written by a worker); nothing runs there`];
      default:
        return [];
    }
  });
}
