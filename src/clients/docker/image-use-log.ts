import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { writeFileAtomic } from '../runner-config/write-file-atomic.js';
import { dockerStatus } from './docker-error.js';
import type { Logger } from '../../logger.js';

/** The file in the worker's state directory that keeps when each image was last used. */
export const IMAGE_USE_FILE = 'image-last-use.json';

/** When each image (by id) was last used by a container, in ms since epoch. */
export interface ImageUseReader {
  lastUsed: () => ReadonlyMap<string, number>;
}

export interface ImageUseLog extends ImageUseReader {
  /** Writes what is recorded now to the state file (atomically); resolves once it is on disk. */
  flush: () => Promise<void>;
  /** Stops following Docker's events and writes the file a last time. */
  stop: () => Promise<void>;
}

export interface ImageUseLogDeps {
  docker: Docker;
  /** `<RUNNEROPS_STATE_DIR>/image-last-use.json`. */
  file: string;
  log: Logger;
  /** Called after each recorded use (tests wait for it). */
  onRecorded?: (imageId: string, at: number) => void;
  /** Called after a deleted image was forgotten. */
  onForgotten?: (imageId: string) => void;
  /** Writes are gathered for this long. @defaultValue 1000 */
  saveDelayMs?: number;
}

interface SavedLog {
  version: 1;
  /** When the file was written (ms): events since then are read again at the next start. */
  savedAt: number;
  images: Record<string, number>;
}

/** The recorded uses from the state file; empty when there is none (or it is unreadable). */
export async function readImageUseFile(file: string): Promise<{ savedAt: number; images: Map<string, number> }> {
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Partial<SavedLog>;
    const images = new Map<string, number>();
    for (const [id, at] of Object.entries(saved.images ?? {})) if (typeof at === 'number' && /^sha256:[0-9a-f]{64}$/.test(id)) images.set(id, at);
    return { savedAt: typeof saved.savedAt === 'number' ? saved.savedAt : 0, images };
  } catch {
    return { savedAt: 0, images: new Map() };
  }
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  from?: string;
  time?: number;
  timeNano?: number;
}

async function imageOfContainer(docker: Docker, containerId: string, reference: string | undefined): Promise<string | undefined> {
  try {
    return (await docker.getContainer(containerId).inspect()).Image;
  } catch (err) {
    if (dockerStatus(err) !== 404 || reference === undefined) return undefined;
  }
  // The container went already (`docker run --rm` of a quick job): ask by the reference it was made from.
  try {
    return (await docker.getImage(reference).inspect()).Id;
  } catch {
    return undefined;
  }
}

/**
 * Records when each image was last used by a container, from Docker's events (container create and
 * start), kept in the worker's state directory across restarts: at start it reads the file, counts
 * every existing container's image as used when that container was created (running ones: now), and
 * reads the events since the file was last written before following new ones. Deleted images are
 * forgotten. Writes are atomic (temp file, fsync, rename).
 */
export async function startImageUseLog(deps: ImageUseLogDeps): Promise<ImageUseLog> {
  const { docker, log } = deps;
  const saved = await readImageUseFile(deps.file);
  const images = saved.images;
  const record = (id: string, at: number): void => {
    if ((images.get(id) ?? 0) < at) images.set(id, at);
  };
  const now = Date.now();
  for (const c of await docker.listContainers({ all: true })) record(c.ImageID, c.State === 'running' ? now : c.Created * 1000);

  let stopped = false;
  let saveTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    clearTimeout(saveTimer);
    saveTimer = undefined;
    const body: SavedLog = { version: 1, savedAt: Date.now(), images: Object.fromEntries(images) };
    writing = writing
      .then(() => writeFileAtomic(deps.file, `${JSON.stringify(body)}\n`, { mode: 0o600 }))
      .catch((err: unknown) => log.warn({ err, file: deps.file }, 'could not save image use'));
    return writing;
  };
  const scheduleSave = (): void => {
    if (saveTimer === undefined) saveTimer = setTimeout(() => void flush(), deps.saveDelayMs ?? 1000);
  };

  let since = saved.savedAt > 0 ? Math.floor(saved.savedAt / 1000) - 1 : Math.floor(now / 1000);
  let pending: Promise<unknown> = Promise.resolve();
  const handle = async (event: DockerEvent): Promise<void> => {
    const at = event.timeNano !== undefined ? event.timeNano / 1e6 : (event.time ?? Date.now() / 1000) * 1000;
    since = Math.max(since, Math.floor(at / 1000));
    const id = event.Actor?.ID;
    if (id === undefined) return;
    if (event.Type === 'image' && event.Action === 'delete') {
      if (images.delete(id)) {
        scheduleSave();
        deps.onForgotten?.(id);
      }
      return;
    }
    if (event.Type !== 'container') return;
    const image = await imageOfContainer(docker, id, event.Actor?.Attributes?.image ?? event.from);
    if (image === undefined) return;
    record(image, at);
    scheduleSave();
    deps.onRecorded?.(image, at);
  };

  let stream: NodeJS.ReadableStream | undefined;
  let retry: NodeJS.Timeout | undefined;
  const follow = async (): Promise<void> => {
    const filters = { type: ['container', 'image'] as Array<'container' | 'image'>, event: ['create', 'start', 'delete'] };
    const current = await docker.getEvents({ since, filters });
    stream = current;
    let buffer = '';
    current.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line === '') continue;
        let event: DockerEvent;
        try {
          event = JSON.parse(line) as DockerEvent;
        } catch {
          continue;
        }
        // One at a time, in the engine's order, so a later use is never overwritten by an earlier one's lookup.
        pending = pending.then(() => handle(event)).catch((err: unknown) => log.warn({ err }, 'could not record an image use'));
      }
    });
    const again = (err?: unknown): void => {
      if (stopped || stream !== current) return;
      stream = undefined;
      if (err) log.warn({ err }, 'Docker event stream broke; following it again');
      retry = setTimeout(() => void follow().catch(again), 1000);
      retry.unref();
    };
    current.once('end', () => again());
    current.once('error', again);
  };
  await follow();
  scheduleSave();

  return {
    lastUsed: () => images,
    flush: async () => {
      await pending;
      await flush();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      (stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
      await pending;
      await flush();
    },
  };
}
