/**
 * LOCAL STAND-IN FOR GITLAB, started only by `runnerops dev` when GITLAB_URL is not set. It is the
 * project's fake GitLab (test/fakes/gitlab, the one the tests use: same documented answers, errors and
 * permissions), kept in memory and gone when dev mode stops. It is not GitLab: nothing reaches a real
 * instance, and the runners it "creates" cannot run jobs. Set GITLAB_URL and GITLAB_TOKEN to use yours.
 */
import { startFakeGitlab } from '../../test/fakes/gitlab/start-fake-gitlab.js';

/** Shown wherever dev mode names it, so nobody mistakes it for a GitLab. */
export const STAND_IN_LABEL = 'local stand-in for GitLab (not a real GitLab; in memory, dev mode only)';

export interface StandInGitlab {
  url: string;
  /** An admin token with the api scope: what GITLAB_TOKEN would hold. */
  adminToken: string;
  /** A runner that exists in the stand-in, for the demo entry in config.toml. */
  demoRunner: { id: number; token: string; tokenExpiresAt: string };
  close: () => Promise<void>;
}

/** Starts the stand-in on a free loopback port with an admin token and one demo runner. */
export async function startStandInGitlab(now = Date.now()): Promise<StandInGitlab> {
  const fake = await startFakeGitlab();
  const { token } = fake.createUserToken({ scopes: ['api'], admin: true });
  // Tokens that expire make the token-expiry warning and `hosts` worth looking at.
  fake.setTokenExpirationInterval(30 * 86_400);
  const tokenExpiresAt = new Date(now + 30 * 86_400_000).toISOString();
  const runner = fake.addRunner({ description: 'demo', tagList: ['nix', 'docker'], tokenExpiresAt });
  return { url: fake.url, adminToken: token, demoRunner: { id: runner.id, token: runner.token, tokenExpiresAt }, close: () => fake.close() };
}
