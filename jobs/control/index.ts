import type { AnyJobModule } from '../index.js';
import * as registerRunner from './register-runner.js';
import * as restartDrained from './restart-drained.js';
import * as reviveRunnerToken from './revive-runner-token.js';

/**
 * Control-plane jobs by name: they run in the bot process on the `control` queue with a ControlContext
 * (GitLab user token), and may run host jobs through `ctx.runOnHost`.
 */
export const CONTROL_JOBS: Record<string, AnyJobModule> = {
  [registerRunner.name]: registerRunner,
  [restartDrained.name]: restartDrained,
  [reviveRunnerToken.name]: reviveRunnerToken,
};

export function findControlJob(name: string): AnyJobModule | undefined {
  return Object.hasOwn(CONTROL_JOBS, name) ? CONTROL_JOBS[name] : undefined;
}
