import type { GitlabRunner, ListScope, RunnerStatus } from '../clients/gitlab/list-runners.js';
import type { RunnerSummary } from '../queue/host-registry.js';

/** What the join needs of a host: its name, system id and the runner entries of its config.toml. */
export interface HostRunners {
  name: string;
  systemId?: string | null;
  runners: RunnerSummary[];
}

/** One runner of the joined view: GitLab's fields, its managers mapped to hosts, the hosts carrying it. */
export interface RunnerRow extends Pick<GitlabRunner, 'id' | 'description' | 'type' | 'paused' | 'status' | 'contactedAt' | 'version' | 'maintenanceNote'> {
  /** Each manager: its system id and the host publishing that id (undefined: no host does). */
  managers: Array<{ systemId: string; host?: string; contactedAt: string | null; version: string | null }>;
  /** Hosts whose config.toml has an entry with this runner's id. */
  hosts: string[];
  /** The token's expiry as the hosts have it (GitLab's when it shows one); undefined: does not expire or unknown. */
  tokenExpiresAt?: string;
}

export type Mismatch =
  /** An entry in a host's config.toml whose runner GitLab does not know (deleted, or another GitLab). */
  | { kind: 'unknown-to-gitlab'; host: string; runner: string; id?: number }
  /** A GitLab runner no host carries in its config.toml. */
  | { kind: 'on-no-host'; id: number; description: string; status: RunnerStatus }
  /** One token in the config.toml of several hosts (compared by fingerprint). */
  | { kind: 'shared-token'; hosts: string[]; runners: string[]; id?: number };

export interface RunnersView {
  at: number;
  /** `all`: the token is an admin's and saw every runner; `owned`: only the runners its user manages. */
  scope: ListScope;
  /** The host the view was asked for; undefined: the whole fleet. */
  host?: string;
  counts: Record<RunnerStatus, number>;
  paused: number;
  runners: RunnerRow[];
  mismatches: Mismatch[];
}

/**
 * Joins GitLab's runners with what hosts publish: managers by system id, hosts by runner id, token
 * expiry from the hosts. `missing` are ids hosts carry that GitLab answered 404 for (not merely
 * invisible to the token). With `host`, only that host's runners and mismatches are kept.
 */
export function joinRunners(
  gitlab: { runners: GitlabRunner[]; scope: ListScope; missing: number[] },
  hosts: HostRunners[],
  options: { host?: string; now?: number } = {},
): RunnersView {
  const hostBySystemId = new Map<string, string>();
  for (const h of hosts) if (h.systemId) hostBySystemId.set(h.systemId, h.name);
  const carriers = new Map<number, Array<{ host: string; entry: RunnerSummary }>>();
  for (const h of hosts) {
    for (const entry of h.runners) {
      if (entry.id === undefined) continue;
      const list = carriers.get(entry.id) ?? [];
      list.push({ host: h.name, entry });
      carriers.set(entry.id, list);
    }
  }
  const missing = new Set(gitlab.missing);

  const rows: RunnerRow[] = gitlab.runners.map((r) => {
    const on = carriers.get(r.id) ?? [];
    const expiry = r.tokenExpiresAt ?? on.map((c) => c.entry.tokenExpiresAt).find((e) => e !== undefined);
    return {
      id: r.id,
      description: r.description,
      type: r.type,
      paused: r.paused,
      status: r.status,
      contactedAt: r.contactedAt,
      version: r.version ?? r.managers.find((m) => m.version)?.version ?? null,
      maintenanceNote: r.maintenanceNote,
      managers: r.managers.map((m) => ({
        systemId: m.systemId,
        ...(hostBySystemId.has(m.systemId) ? { host: hostBySystemId.get(m.systemId)! } : {}),
        contactedAt: m.contactedAt,
        version: m.version,
      })),
      hosts: [...new Set(on.map((c) => c.host))],
      ...(expiry !== undefined ? { tokenExpiresAt: expiry } : {}),
    };
  });

  const mismatches: Mismatch[] = [];
  for (const h of hosts) {
    for (const entry of h.runners) {
      if (entry.id === undefined || missing.has(entry.id))
        mismatches.push({ kind: 'unknown-to-gitlab', host: h.name, runner: entry.name, ...(entry.id !== undefined ? { id: entry.id } : {}) });
    }
  }
  // Only a token that sees every runner can say that no host carries one.
  if (gitlab.scope === 'all') {
    for (const row of rows) if (row.hosts.length === 0) mismatches.push({ kind: 'on-no-host', id: row.id, description: row.description, status: row.status });
  }
  const byFingerprint = new Map<string, Array<{ host: string; entry: RunnerSummary }>>();
  for (const h of hosts) {
    for (const entry of h.runners) {
      if (!entry.tokenFingerprint) continue;
      const list = byFingerprint.get(entry.tokenFingerprint) ?? [];
      list.push({ host: h.name, entry });
      byFingerprint.set(entry.tokenFingerprint, list);
    }
  }
  for (const list of byFingerprint.values()) {
    const onHosts = [...new Set(list.map((c) => c.host))];
    if (onHosts.length < 2) continue;
    const id = list.find((c) => c.entry.id !== undefined)?.entry.id;
    mismatches.push({ kind: 'shared-token', hosts: onHosts, runners: [...new Set(list.map((c) => c.entry.name))], ...(id !== undefined ? { id } : {}) });
  }

  const host = options.host;
  const keptRows = host === undefined ? rows : rows.filter((r) => r.hosts.includes(host) || r.managers.some((m) => m.host === host));
  const keptMismatches =
    host === undefined
      ? mismatches
      : mismatches.filter((m) => (m.kind === 'unknown-to-gitlab' && m.host === host) || (m.kind === 'shared-token' && m.hosts.includes(host)));
  const counts: Record<RunnerStatus, number> = { online: 0, offline: 0, stale: 0, never_contacted: 0 };
  for (const r of keptRows) counts[r.status]++;
  return {
    at: options.now ?? Date.now(),
    scope: gitlab.scope,
    ...(host !== undefined ? { host } : {}),
    counts,
    paused: keptRows.filter((r) => r.paused).length,
    runners: keptRows,
    mismatches: keptMismatches,
  };
}
