import type { AnyJobModule } from '../index.js';
import * as cleanupStaleRunners from './cleanup-stale-runners.js';
import * as listRunners from './list-runners.js';
import * as pauseRunners from './pause-runners.js';
import * as registerRunner from './register-runner.js';
import * as restartDrained from './restart-drained.js';
import * as reviveRunnerToken from './revive-runner-token.js';
import * as unregisterRunner from './unregister-runner.js';

/**
 * Control-plane jobs by name: they run in the bot process on the `control` queue with a ControlContext
 * (GitLab user token), and may run host jobs through `ctx.runOnHost`.
 */
export const CONTROL_JOBS: Record<string, AnyJobModule> = {
  [registerRunner.name]: registerRunner,
  [restartDrained.name]: restartDrained,
  [reviveRunnerToken.name]: reviveRunnerToken,
  [listRunners.name]: listRunners,
  [pauseRunners.name]: pauseRunners,
  [unregisterRunner.name]: unregisterRunner,
  [cleanupStaleRunners.name]: cleanupStaleRunners,
};

export function findControlJob(name: string): AnyJobModule | undefined {
  return Object.hasOwn(CONTROL_JOBS, name) ? CONTROL_JOBS[name] : undefined;
}
