import type { JobModule } from './job-context.js';
import * as ping from './ping.js';
import * as installRunner from './install-runner.js';
import * as rotateToken from './rotate-token.js';
import * as hostFacts from './host-facts.js';
import * as pruneDocker from './prune-docker.js';
import * as restartNixDaemon from './restart-nix-daemon.js';
import * as storeUsage from './store-usage.js';
import * as gcStore from './gc-store.js';
import * as readSystemId from './read-system-id.js';
import * as removeRunner from './remove-runner.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job has its own payload/result types; payloadSchema checks them at run time
export type AnyJobModule = JobModule<any, any, any>;

/**
 * Every host job by name. The worker dispatches on this table; the bot uses `summarize` for cards.
 * Add a job: create `jobs/<name>.ts` exporting name, payloadSchema, run and summarize, then list it here.
 */
export const HOST_JOBS: Record<string, AnyJobModule> = {
  [ping.name]: ping,
  [installRunner.name]: installRunner,
  [rotateToken.name]: rotateToken,
  [hostFacts.name]: hostFacts,
  [pruneDocker.name]: pruneDocker,
  [restartNixDaemon.name]: restartNixDaemon,
  [storeUsage.name]: storeUsage,
  [gcStore.name]: gcStore,
  [readSystemId.name]: readSystemId,
  [removeRunner.name]: removeRunner,
};

export function findHostJob(name: string): AnyJobModule | undefined {
  return Object.hasOwn(HOST_JOBS, name) ? HOST_JOBS[name] : undefined;
}
