import { randomBytes } from 'node:crypto';

/** Personal access token scopes the fake knows (GitLab's names). */
export type Scope = 'api' | 'read_api' | 'create_runner' | 'manage_runner' | 'read_user';

export type RunnerType = 'instance_type' | 'group_type' | 'project_type';

/** A user behind a personal access token. */
export interface FakeUser {
  id: number;
  username: string;
  admin: boolean;
  /** Groups this user owns (may create group runners there). */
  ownedGroups: number[];
  /** Projects this user owns or maintains as Owner. */
  ownedProjects: number[];
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
  systemId: string;
  createdAt: string;
  contactedAt: string;
}

export interface FakeJob {
  id: number;
  status: 'running' | 'success' | 'failed' | 'canceled' | 'pending';
  name: string;
  projectId: number;
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

/** Random token with GitLab's prefix; never hard-coded, so tests can search for it. */
export function generateToken(prefix: string): string {
  return `${prefix}${randomBytes(15).toString('base64url')}`;
}

/** Everything the fake knows; the HTTP layer reads and changes it, tests inspect it. */
export class FakeGitlabState {
  readonly userTokens = new Map<string, FakeUserToken>();
  readonly runners = new Map<number, FakeRunner>();
  /** Groups and projects that exist (404 otherwise). */
  readonly groups = new Set<number>();
  readonly projects = new Set<number>();
  /** Instance setting `runner_token_expiration_interval` in seconds; null: tokens do not expire. */
  tokenExpirationIntervalSeconds: number | null = null;
  /** Every token ever issued (user tokens, runner tokens old and new, deleted runners' too), for leak searches. */
  readonly issued: string[] = [];
  /** Legacy registration token accepted by `POST /runners`; null: registration tokens disabled (410). */
  registrationToken: string | null = null;
  private nextRunnerId = 9171;
  private nextUserId = 100;
  private nextJobId = 5000;

  createUserToken(options: { scopes: Scope[]; admin?: boolean; ownedGroups?: number[]; ownedProjects?: number[]; expiresAt?: number }): FakeUserToken {
    const id = this.nextUserId++;
    const user: FakeUser = {
      id,
      username: `user${id}`,
      admin: options.admin ?? false,
      ownedGroups: options.ownedGroups ?? [],
      ownedProjects: options.ownedProjects ?? [],
    };
    for (const g of user.ownedGroups) this.groups.add(g);
    for (const p of user.ownedProjects) this.projects.add(p);
    const entry: FakeUserToken = { token: generateToken('glpat-'), user, scopes: options.scopes, expiresAt: options.expiresAt, revoked: false };
    this.userTokens.set(entry.token, entry);
    this.issued.push(entry.token);
    return entry;
  }

  newExpiry(now = Date.now()): string | null {
    // Whole seconds, rendered the way Rails does ("...T10:00:00.000Z").
    return this.tokenExpirationIntervalSeconds === null ? null : new Date(Math.floor(now / 1000) * 1000 + this.tokenExpirationIntervalSeconds * 1000).toISOString();
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

  recordManager(runner: FakeRunner, systemId: string): FakeRunnerManager {
    const at = new Date().toISOString();
    runner.contactedAt = at;
    let manager = runner.managers.find((m) => m.systemId === systemId);
    if (!manager) {
      manager = { systemId, createdAt: at, contactedAt: at };
      runner.managers.push(manager);
    }
    manager.contactedAt = at;
    return manager;
  }

  setJobs(runnerId: number, jobs: Array<Partial<FakeJob>>): FakeJob[] {
    const runner = this.requireRunner(runnerId);
    runner.jobs = jobs.map((j) => ({
      id: j.id ?? this.nextJobId++,
      status: j.status ?? 'running',
      name: j.name ?? 'build',
      projectId: j.projectId ?? 1,
    }));
    return runner.jobs;
  }

  requireRunner(runnerId: number): FakeRunner {
    const runner = this.runners.get(runnerId);
    if (!runner) throw new Error(`fake GitLab has no runner ${runnerId}`);
    return runner;
  }

  /** Whether `user` may see and change `runner` (admin, or Owner of its group/project, or its creator). */
  mayManage(user: FakeUser, runner: FakeRunner): boolean {
    if (user.admin) return true;
    if (runner.runnerType === 'group_type' && runner.groupId !== undefined) return user.ownedGroups.includes(runner.groupId);
    if (runner.runnerType === 'project_type' && runner.projectId !== undefined) return user.ownedProjects.includes(runner.projectId);
    return false;
  }
}
