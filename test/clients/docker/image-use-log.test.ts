import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_USE_FILE, readImageUseFile, startImageUseLog, type ImageUseLog } from '../../../src/clients/docker/image-use-log.js';
import { ensureDockerEngine } from '../../setup/docker-engine.js';
import { ensureBusyboxImage, importFilesImage } from '../../setup/docker-images.js';

// The main engine, shared with other test files: every image and container here is unique to this file and removed at the end.
const log = pino({ level: 'silent' });
let docker: Docker;
let dir: string;
let file: string;
const created: string[] = [];
const images: string[] = [];

/** Starts the log and resolves once it recorded a use of `image`, with that use's time. */
function waitForUse(running: { onRecorded: (listener: (id: string, at: number) => void) => void }, image: string): Promise<number> {
  return new Promise((resolve) => running.onRecorded((id, at) => id === image && resolve(at)));
}

function startLog(): {
  log: Promise<ImageUseLog>;
  onRecorded: (listener: (id: string, at: number) => void) => void;
  onForgotten: (listener: (id: string) => void) => void;
} {
  const listeners: Array<(id: string, at: number) => void> = [];
  const forgotten: Array<(id: string) => void> = [];
  return {
    log: startImageUseLog({
      docker,
      file,
      log,
      saveDelayMs: 10,
      onRecorded: (id, at) => listeners.forEach((l) => l(id, at)),
      onForgotten: (id) => forgotten.forEach((l) => l(id)),
    }),
    onRecorded: (listener) => listeners.push(listener),
    onForgotten: (listener) => forgotten.push(listener),
  };
}

async function newImage(): Promise<string> {
  const id = await importFilesImage(docker, { marker: randomBytes(16) }, { changes: ['CMD ["/marker"]'] });
  images.push(id);
  return id;
}

async function createContainer(image: string): Promise<Docker.Container> {
  const container = await docker.createContainer({
    Image: image,
    name: `runnerops-test-use-${randomBytes(4).toString('hex')}`,
    HostConfig: { NetworkMode: 'none' },
  });
  created.push(container.id);
  return container;
}

beforeAll(async () => {
  docker = await ensureDockerEngine();
  dir = await mkdtemp(path.join(os.tmpdir(), 'runnerops-image-use-'));
  file = path.join(dir, IMAGE_USE_FILE);
});

afterAll(async () => {
  for (const id of created)
    await docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  for (const id of images)
    await docker
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('startImageUseLog', () => {
  it('records when a container is created from an image and keeps it in the state file, written atomically with mode 0600', async () => {
    const image = await newImage();
    const started = startLog();
    const running = await started.log;
    const used = waitForUse(started, image);
    const before = Date.now();
    await createContainer(image);
    const at = await used;
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(running.lastUsed().get(image)).toBe(at);
    await running.stop();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { images: Record<string, number> };
    expect(saved.images[image]).toBe(at);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('keeps what it recorded across a restart and catches up on uses while it was stopped', async () => {
    const first = (await readImageUseFile(file)).images;
    const missed = await newImage();
    // Used and gone while the log was stopped: only Docker's events since the last save tell of it.
    const container = await createContainer(missed);
    await container.remove();
    const started = startLog();
    const used = waitForUse(started, missed);
    const running = await started.log;
    await used;
    for (const [id, at] of first) expect(running.lastUsed().get(id)).toBeGreaterThanOrEqual(at);
    expect(running.lastUsed().has(missed)).toBe(true);
    await running.stop();
  });

  it("counts a later start of a container as its image's last use", async () => {
    const busybox = await ensureBusyboxImage();
    const image = (await docker.getImage(busybox).inspect()).Id;
    const started = startLog();
    const running = await started.log;
    const container = await docker.createContainer({
      Image: busybox,
      Cmd: ['true'],
      name: `runnerops-test-use-${randomBytes(4).toString('hex')}`,
      HostConfig: { NetworkMode: 'none' },
    });
    created.push(container.id);
    const later = waitForUse(started, image);
    await container.start();
    const at = await later;
    expect(running.lastUsed().get(image)).toBeGreaterThanOrEqual(at);
    await running.stop();
  });

  it('forgets an image once it is deleted', async () => {
    const image = await newImage();
    const started = startLog();
    const running = await started.log;
    const used = waitForUse(started, image);
    const container = await createContainer(image);
    await used;
    const forgotten = new Promise<void>((resolve) => started.onForgotten((id) => id === image && resolve()));
    await container.remove({ force: true });
    await docker.getImage(image).remove({ force: true });
    await forgotten;
    expect(running.lastUsed().has(image)).toBe(false);
    await running.flush();
    expect((await readImageUseFile(file)).images.has(image)).toBe(false);
    await running.stop();
  });
});
