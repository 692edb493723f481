import type Docker from 'dockerode';
import { dockerMessage, dockerStatus } from './docker-error.js';

/** What became of one removal: ours, already gone (someone else removed it), or still in use. */
export type RemoveOutcome = 'removed' | 'gone' | 'in-use';

export interface RemoveOptions {
  /** How long to wait for another removal of the same container to finish. @defaultValue 60000 */
  waitMs?: number;
}

async function waitUntilGone(docker: Docker, id: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    try {
      await docker.getContainer(id).inspect();
    } catch (err) {
      if (dockerStatus(err) === 404) return true;
      throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/**
 * Runs one removal and says what became of it: 404 is 'gone', a status in `inUse` is 'in-use', any
 * other error is thrown.
 */
async function outcomeOf(remove: () => Promise<unknown>, inUse: readonly number[] = [409], goneMeanwhile?: RegExp): Promise<RemoveOutcome> {
  try {
    await remove();
    return 'removed';
  } catch (err) {
    const status = dockerStatus(err);
    if (status === 404) return 'gone';
    if (status === 500 && goneMeanwhile?.test(dockerMessage(err))) return 'gone';
    if (status !== undefined && inUse.includes(status)) return 'in-use';
    throw err;
  }
}

/**
 * Removes a stopped container (never forced, keeping its volumes for the volume step). A container
 * that started again is left ('in-use'); one another prune is removing is waited for ('gone').
 */
export async function removeContainer(docker: Docker, id: string, options: RemoveOptions = {}): Promise<RemoveOutcome> {
  try {
    await docker.getContainer(id).remove({ v: false, force: false });
    return 'removed';
  } catch (err) {
    const status = dockerStatus(err);
    if (status === 404) return 'gone';
    if (status === 409 && /already in progress/i.test(dockerMessage(err))) {
      return (await waitUntilGone(docker, id, options.waitMs ?? 60_000)) ? 'gone' : 'in-use';
    }
    if (status === 409) return 'in-use';
    throw err;
  }
}

/** The repository part of `repo:tag` or `repo@sha256:...`. */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
}

/**
 * Removes an image without force: references from extra repositories are untagged first (the engine
 * refuses to delete by id across repositories), then the image itself, which releases its untagged
 * parents too. An image a container uses is left ('in-use').
 */
export async function removeImage(docker: Docker, image: { id: string; refs: readonly string[] }): Promise<RemoveOutcome> {
  const repositories = [...new Set(image.refs.map(repositoryOf))];
  const extra = image.refs.filter((ref) => repositories.length > 1 && repositoryOf(ref) !== repositories[0]);
  return outcomeOf(
    async () => {
      for (const ref of extra) {
        try {
          await docker.getImage(ref).remove({ noprune: false });
        } catch (err) {
          if (dockerStatus(err) !== 404) throw err;
        }
      }
      await docker.getImage(image.id).remove({ noprune: false });
      // The engine answers 500 "unrecognized image ID" when another prune deleted the image meanwhile.
    },
    [409],
    /unrecognized image ID|No such image/i,
  );
}

/** Removes a volume; one a container mounts is left ('in-use'). */
export async function removeVolume(docker: Docker, name: string): Promise<RemoveOutcome> {
  return outcomeOf(() => docker.getVolume(name).remove());
}

/** Removes a network; one with endpoints is left ('in-use'; the engine answers 403 or 409). */
export async function removeNetwork(docker: Docker, id: string): Promise<RemoveOutcome> {
  return outcomeOf(() => docker.getNetwork(id).remove(), [403, 409]);
}
