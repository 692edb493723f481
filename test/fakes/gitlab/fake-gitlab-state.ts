import { randomBytes } from 'node:crypto';

/** Personal access token scopes the fake knows (GitLab's names). */
export type Scope = 'api' | 'read_api' | 'create_runner' | 'manage_runner' | 'read_user';

export type RunnerType = 'instance_type' | 'group_type' | 'project_type';

/** Membership roles (GitLab's access levels, lowest first). */
export type Role = 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner';

const ROLE_LEVEL: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

/** Whether `role` is at least `needed`. */
export function atLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && ROLE_LEVEL[role] >= ROLE_LEVEL[needed];
}

/** A GitLab version as `major.minor`, compared numerically (`17.10` is after `17.9`). */
export function versionAtLeast(version: string, wanted: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = wanted.split('.').map(Number);
  return a !== c ? a > c : b >= d;
}

/** Scopes a personal access token can have on `version`: `manage_runner` exists from 17.1, `create_runner` from 15.10. */
export function scopesOf(version: string): Scope[] {
  const scopes: Scope[] = ['api', 'read_api', 'read_user'];
  if (versionAtLeast(version, '15.10')) scopes.push('create_runner');
  if (versionAtLeast(version, '17.1')) scopes.push('manage_runner');
  return scopes;
}

/** A user behind a personal access token. */
export interface FakeUser {
  id: number;
  username: string;
  admin: boolean;
  /** Direct memberships by group id; a group role also applies to the group's projects. */
  groups: Map<number, Role>;
  /** Direct memberships by project id. */
  projects: Map<number, Role>;
}

export interface FakeUserToken {
  token: string;
  user: FakeUser;
  scopes: Scope[];
  /** ms since epoch; undefined: never expires. */
  expiresAt?: number;
  revoked: boolean;
}

/** A runner manager: one `system_id` that verified (or requested jobs) with the runner's token. */
export interface FakeRunnerManager {
  id: number;
  systemId: string;
  createdAt: string;
  contactedAt: string;
  /** From the `info` of a request (gitlab-runner sends it with job requests); null until one carried it. */
  version: string | null;
  revision: string | null;
  platform: string | null;
  architecture: string | null;
  executor: string | null;
}

export interface FakeJob {
  id: number;
  status: 'running' | 'canceling' | 'success' | 'failed' | 'canceled' | 'pending';
  name: string;
  projectId: number;
  /** The runner manager (host) running it; undefined: not tied to one. */
  systemId?: string;
}

export interface FakeRunner {
  id: number;
  runnerType: RunnerType;
  groupId?: number;
  projectId?: number;
  description: string;
  maintenanceNote: string;
  paused: boolean;
  locked: boolean;
  runUntagged: boolean;
  tagList: string[];
  accessLevel: 'not_protected' | 'ref_protected';
  maximumTimeout: number | null;
  /** The current authentication token (glrt-...). Old tokens are forgotten at once on reset. */
  token: string;
  /** RFC 3339 or null (token does not expire). */
  tokenExpiresAt: string | null;
  createdBy: number;
  createdAt: string;
  contactedAt: string | null;
  managers: FakeRunnerManager[];
  jobs: FakeJob[];
  /** Every token this runner ever had, oldest first (tests use it to search logs and files). */
  tokenHistory: string[];
}

/** Options of a user token; `ownedGroups` / `ownedProjects` are Owner memberships (kept for older tests). */
export interface UserTokenOptions {
  scopes: Scope[];
  admin?: boolean;
  ownedGroups?: number[];
  ownedProjects?: number[];
  /** Group memberships by id (a group role applies to its projects too). */
  groups?: Record<number, Role>;
  /** Project memberships by id. */
  projects?: Record<number, Role>;
  expiresAt?: number;
}

/** Random token with GitLab's prefix; never hard-coded, so tests can search for it. */
export function generateToken(prefix: string): string {
  return `${prefix}${randomBytes(15).toString('base64url')}`;
}

/** Everything the fake knows; the HTTP layer reads and changes it, tests inspect it. */
export class FakeGitlabState {
  readonly userTokens = new Map<string, FakeUserToken>();
  readonly runners = new Map<number, FakeRunner>();
  /** Groups that exist (400 `Missing/invalid group` otherwise). */
  readonly groups = new Set<number>();
  /** Projects that exist; a project may belong to a group (`projectGroups`). */
  readonly projects = new Set<number>();
  readonly projectGroups = new Map<number, number>();
  /** Instance setting `runner_token_expiration_interval` in seconds; null: tokens do not expire. */
  tokenExpirationIntervalSeconds: number | null = null;
  /** Every token ever issued (user tokens, runner tokens old and new, deleted runners' too), for leak searches. */
  readonly issued: string[] = [];
  /** Legacy registration token accepted by `POST /runners`; null: registration tokens disabled (410). */
  registrationToken: string | null = null;
  private nextRunnerId = 9171;
  private nextUserId = 100;
  private nextJobId = 5000;
  private nextManagerId = 1;

  /** @param version GitLab version the fake plays (`major.minor`): which scopes exist. */
  constructor(readonly version = '17.5') {}

  createUserToken(options: UserTokenOptions): FakeUserToken {
    const known = scopesOf(this.version);
    const unknown = options.scopes.filter((s) => !known.includes(s));
    if (unknown.length > 0) throw new Error(`GitLab ${this.version} has no ${unknown.join(', ')} scope; it has ${known.join(', ')}`);
    const id = this.nextUserId++;
    const groups = new Map<number, Role>(Object.entries(options.groups ?? {}).map(([g, r]) => [Number(g), r]));
    const projects = new Map<number, Role>(Object.entries(options.projects ?? {}).map(([p, r]) => [Number(p), r]));
    for (const g of options.ownedGroups ?? []) groups.set(g, 'owner');
    for (const p of options.ownedProjects ?? []) projects.set(p, 'owner');
    for (const g of groups.keys()) this.groups.add(g);
    for (const p of projects.keys()) this.projects.add(p);
    const user: FakeUser = { id, username: `user${id}`, admin: options.admin ?? false, groups, projects };
    const entry: FakeUserToken = { token: generateToken('glpat-'), user, scopes: options.scopes, expiresAt: options.expiresAt, revoked: false };
    this.userTokens.set(entry.token, entry);
    this.issued.push(entry.token);
    return entry;
  }

  /** A project, optionally inside a group (group members then have their group role on it). */
  addProject(projectId: number, groupId?: number): void {
    this.projects.add(projectId);
    if (groupId !== undefined) {
      this.groups.add(groupId);
      this.projectGroups.set(projectId, groupId);
    }
  }

  /** The user's role on a group (direct membership). */
  groupRole(user: FakeUser, groupId: number): Role | undefined {
    return user.groups.get(groupId);
  }

  /** The user's role on a project: the higher of the direct and the group membership. */
  projectRole(user: FakeUser, projectId: number): Role | undefined {
    const direct = user.projects.get(projectId);
    const groupId = this.projectGroups.get(projectId);
    const inherited = groupId !== undefined ? user.groups.get(groupId) : undefined;
    if (direct === undefined) return inherited;
    if (inherited === undefined) return direct;
    return ROLE_LEVEL[direct] >= ROLE_LEVEL[inherited] ? direct : inherited;
  }

  newExpiry(now = Date.now()): string | null {
    // Whole seconds, rendered the way Rails does ("...T10:00:00.000Z").
    return this.tokenExpirationIntervalSeconds === null
      ? null
      : new Date(Math.floor(now / 1000) * 1000 + this.tokenExpirationIntervalSeconds * 1000).toISOString();
  }

  addRunner(fields: Partial<Omit<FakeRunner, 'id' | 'token' | 'tokenHistory' | 'managers' | 'jobs'>> & { createdBy: number }): FakeRunner {
    const token = generateToken('glrt-');
    const runner: FakeRunner = {
      id: this.nextRunnerId++,
      runnerType: fields.runnerType ?? 'instance_type',
      groupId: fields.groupId,
      projectId: fields.projectId,
      description: fields.description ?? '',
      maintenanceNote: fields.maintenanceNote ?? '',
      paused: fields.paused ?? false,
      locked: fields.locked ?? false,
      runUntagged: fields.runUntagged ?? true,
      tagList: fields.tagList ?? [],
      accessLevel: fields.accessLevel ?? 'not_protected',
      maximumTimeout: fields.maximumTimeout ?? null,
      token,
      tokenExpiresAt: fields.tokenExpiresAt !== undefined ? fields.tokenExpiresAt : this.newExpiry(),
      createdBy: fields.createdBy,
      createdAt: new Date().toISOString(),
      contactedAt: null,
      managers: [],
      jobs: [],
      tokenHistory: [token],
    };
    if (runner.groupId !== undefined) this.groups.add(runner.groupId);
    if (runner.projectId !== undefined) this.projects.add(runner.projectId);
    this.runners.set(runner.id, runner);
    this.issued.push(token);
    return runner;
  }

  /** The runner whose current, unexpired token this is. */
  runnerByToken(token: unknown, now = Date.now()): FakeRunner | undefined {
    if (typeof token !== 'string' || token === '') return undefined;
    for (const runner of this.runners.values()) {
      if (runner.token !== token) continue;
      if (runner.tokenExpiresAt !== null && Date.parse(runner.tokenExpiresAt) <= now) return undefined;
      return runner;
    }
    return undefined;
  }

  resetToken(runner: FakeRunner, now = Date.now()): void {
    runner.token = generateToken('glrt-');
    runner.tokenHistory.push(runner.token);
    this.issued.push(runner.token);
    runner.tokenExpiresAt = this.newExpiry(now);
  }

  /**
   * A heartbeat of the manager `systemId` (find or create), as GitLab's authenticate_runner! does: the
   * runner and the manager are contacted now; `info` (name, version, ...) is recorded only when sent.
   */
  recordManager(runner: FakeRunner, systemId: string, info?: Record<string, unknown>): FakeRunnerManager {
    const at = new Date().toISOString();
    runner.contactedAt = at;
    let manager = runner.managers.find((m) => m.systemId === systemId);
    if (!manager) {
      manager = {
        id: this.nextManagerId++,
        systemId,
        createdAt: at,
        contactedAt: at,
        version: null,
        revision: null,
        platform: null,
        architecture: null,
        executor: null,
      };
      runner.managers.push(manager);
    }
    manager.contactedAt = at;
    if (info) {
      for (const key of ['version', 'revision', 'platform', 'architecture', 'executor'] as const) {
        if (typeof info[key] === 'string') manager[key] = info[key];
      }
    }
    return manager;
  }

  setJobs(runnerId: number, jobs: Array<Partial<FakeJob>>): FakeJob[] {
    const runner = this.requireRunner(runnerId);
    runner.jobs = jobs.map((j) => ({
      id: j.id ?? this.nextJobId++,
      status: j.status ?? 'running',
      name: j.name ?? 'build',
      projectId: j.projectId ?? 1,
      ...(j.systemId !== undefined ? { systemId: j.systemId } : {}),
    }));
    return runner.jobs;
  }

  requireRunner(runnerId: number): FakeRunner {
    const runner = this.runners.get(runnerId);
    if (!runner) throw new Error(`fake GitLab has no runner ${runnerId}`);
    return runner;
  }

  /**
   * Whether `user` may see and change `runner`: admins any; group runners the group's Owners;
   * project runners the project's Maintainers and Owners (lib/api/ci/runners.rb, RunnerPolicy).
   */
  mayManage(user: FakeUser, runner: FakeRunner): boolean {
    if (user.admin) return true;
    if (runner.runnerType === 'group_type' && runner.groupId !== undefined) return atLeast(this.groupRole(user, runner.groupId), 'owner');
    if (runner.runnerType === 'project_type' && runner.projectId !== undefined) return atLeast(this.projectRole(user, runner.projectId), 'maintainer');
    return false;
  }

  /** Whether `user` sees jobs of `projectId` in a runner's job list (Reporter or above; admins all). */
  seesJobsOf(user: FakeUser, projectId: number): boolean {
    return user.admin || atLeast(this.projectRole(user, projectId), 'reporter');
  }
}
