import { describe, expect, it } from 'vitest';
import { hasProtectLabel, isAnonymousVolume, isRunnerCacheVolume, planPrune, type PrunePolicy } from '../../../jobs/prune-docker/plan-prune.js';
import type { ContainerFacts, ImageFacts, PruneState, VolumeFacts } from '../../../src/clients/docker/read-prune-state.js';

const NOW = Date.parse('2026-01-10T12:00:00Z');
const HOUR = 3600_000;
const hex = (c: string): string => c.repeat(64);

const container = (id: string, over: Partial<ContainerFacts> = {}): ContainerFacts => ({
  id,
  name: id,
  state: 'exited',
  createdAt: NOW - 2 * HOUR,
  labels: {},
  imageId: 'sha256:base',
  volumes: [],
  networkIds: [],
  sizeRw: 10,
  ...over,
});
const image = (id: string, over: Partial<ImageFacts> = {}): ImageFacts => ({
  id,
  parentId: '',
  createdAt: NOW - 2 * HOUR,
  labels: {},
  refs: [],
  tags: [],
  size: 100,
  chain: [`chain-${id}`],
  ...over,
});
const volume = (name: string, over: Partial<VolumeFacts> = {}): VolumeFacts => ({
  name,
  driver: 'local',
  createdAt: NOW - 2 * HOUR,
  labels: {},
  mountpoint: `/var/lib/docker/volumes/${name}/_data`,
  ...over,
});
const state = (over: Partial<PruneState>): PruneState => ({
  apiVersion: '1.41',
  readAt: NOW,
  containers: [],
  images: [image('sha256:base', { tags: ['busybox:latest'], refs: ['busybox:latest'] })],
  volumes: [],
  networks: [],
  ...over,
});
const policy = (over: Partial<PrunePolicy> = {}): PrunePolicy => ({
  untilSeconds: 3600,
  images: 'dangling',
  volumes: true,
  namedVolumes: false,
  youngCacheVolumes: false,
  networks: true,
  protectLabel: 'runnerops.keep=true',
  nixDaemonContainer: 'gitlabnix',
  ...over,
});
const ids = (list: Array<{ id: string }>): string[] => list.map((x) => x.id);

describe('planPrune', () => {
  it('takes exited and dead containers older than the cutoff, never created, running or young ones', () => {
    const plan = planPrune(
      state({
        containers: [
          container('old-exited'),
          container('old-dead', { state: 'dead' }),
          container('created', { state: 'created' }),
          container('running', { state: 'running' }),
          container('young', { createdAt: NOW - 60_000 }),
        ],
      }),
      policy(),
    );
    expect(ids(plan.containers)).toEqual(['old-exited', 'old-dead']);
    expect(plan.kept.young).toBe(1);
  });

  it('never takes the stopped nix-daemon container, its image or its volumes', () => {
    const plan = planPrune(
      state({
        containers: [container('daemon-id', { name: 'gitlabnix', imageId: 'sha256:nix', volumes: [hex('a'), 'nix-store'] })],
        images: [image('sha256:nix')],
        volumes: [volume(hex('a')), volume('nix-store')],
      }),
      policy({ namedVolumes: true, images: 'unused' }),
    );
    expect(plan.containers).toEqual([]);
    expect(plan.images).toEqual([]);
    expect(plan.volumes).toEqual([]);
    expect(plan.kept['nix-daemon']).toBe(4);
    expect(plan.nixDaemon?.id).toBe('daemon-id');
  });

  it('counts images and volumes of the containers it removes as unused, and keeps those of the others', () => {
    const plan = planPrune(
      state({
        containers: [
          container('gone', { imageId: 'sha256:a', volumes: [hex('1')] }),
          container('stays', { state: 'created', imageId: 'sha256:b', volumes: [hex('2')] }),
        ],
        images: [image('sha256:a'), image('sha256:b')],
        volumes: [volume(hex('1')), volume(hex('2'))],
      }),
      policy(),
    );
    expect(ids(plan.images)).toEqual(['sha256:a']);
    expect(plan.volumes.map((v) => v.name)).toEqual([hex('1')]);
    expect(plan.kept['in-use']).toBe(2);
  });

  it('keeps tagged images in dangling mode and takes them in unused mode', () => {
    const s = state({ images: [image('sha256:tagged', { tags: ['app:1'], refs: ['app:1'] }), image('sha256:untagged')] });
    expect(ids(planPrune(s, policy()).images)).toEqual(['sha256:untagged']);
    expect(ids(planPrune(s, policy({ images: 'unused' })).images)).toEqual(['sha256:tagged', 'sha256:untagged']);
    expect(planPrune(s, policy({ images: 'none' })).images).toEqual([]);
  });

  it('keeps the parents of an image in use and skips intermediate images', () => {
    const s = state({
      containers: [container('user', { state: 'running', imageId: 'sha256:child' })],
      images: [
        image('sha256:parent', { tags: ['parent:1'], refs: ['parent:1'] }),
        image('sha256:middle', { parentId: 'sha256:parent' }),
        image('sha256:child', { parentId: 'sha256:middle' }),
      ],
    });
    expect(planPrune(s, policy({ images: 'unused' })).images).toEqual([]);
  });

  it('honours the protect label on every kind, with or without a value', () => {
    const labels = { 'runnerops.keep': 'true' };
    const s = state({
      containers: [container('c', { labels })],
      images: [image('sha256:i', { labels })],
      volumes: [volume(hex('e'), { labels })],
      networks: [{ id: 'n', name: 'n', driver: 'bridge', scope: 'local', createdAt: NOW - 2 * HOUR, labels }],
    });
    const plan = planPrune(s, policy());
    expect([plan.containers, plan.images, plan.volumes, plan.networks].flat()).toEqual([]);
    expect(plan.kept['protect-label']).toBe(4);
    expect(planPrune(s, policy({ protectLabel: 'runnerops.keep=false' })).containers).toHaveLength(1);
  });

  it('takes anonymous volumes with --volumes, old runner caches too, and named ones only when asked', () => {
    const cache = 'runner-abc-project-1-concurrent-0-cache-3c3b8ec2a8c7e0b9e2b7e8b57bdf8a2c';
    const s = state({
      volumes: [
        volume(hex('a')),
        volume('labelled-anon', { labels: { 'com.docker.volume.anonymous': '' } }),
        volume(cache),
        volume('young-cache', { labels: { 'com.gitlab.gitlab-runner.type': 'cache' }, createdAt: NOW - 60_000 }),
        volume('named'),
      ],
    });
    const names = (p: PrunePolicy): string[] => planPrune(s, p).volumes.map((v) => v.name);
    expect(names(policy())).toEqual([hex('a'), 'labelled-anon', cache]);
    expect(names(policy({ youngCacheVolumes: true }))).toContain('young-cache');
    expect(names(policy({ namedVolumes: true }))).toContain('named');
    expect(names(policy({ volumes: false }))).toEqual([]);
  });

  it('takes networks no remaining container refers to, never the predefined ones', () => {
    const net = (id: string, name = id) => ({ id, name, driver: 'bridge', scope: 'local', createdAt: NOW - 2 * HOUR, labels: {} });
    const s = state({
      containers: [container('stopped-kept', { state: 'created', networkIds: ['used'] }), container('gone', { networkIds: ['freed'] })],
      networks: [net('b', 'bridge'), net('h', 'host'), net('used'), net('freed'), net('idle')],
    });
    expect(planPrune(s, policy()).networks.map((n) => n.id)).toEqual(['freed', 'idle']);
    expect(planPrune(s, policy({ networks: false })).networks).toEqual([]);
  });
});

describe('hasProtectLabel', () => {
  it('matches key=value exactly and a bare key for any value', () => {
    expect(hasProtectLabel({ keep: 'true' }, 'keep=true')).toBe(true);
    expect(hasProtectLabel({ keep: 'yes' }, 'keep=true')).toBe(false);
    expect(hasProtectLabel({ keep: 'yes' }, 'keep')).toBe(true);
    expect(hasProtectLabel({}, 'keep')).toBe(false);
  });
});

describe('isAnonymousVolume', () => {
  it('recognises the engine label and the 64-hex names of older engines', () => {
    expect(isAnonymousVolume({ name: hex('f'), labels: {} })).toBe(true);
    expect(isAnonymousVolume({ name: 'data', labels: { 'com.docker.volume.anonymous': '' } })).toBe(true);
    expect(isAnonymousVolume({ name: 'data', labels: {} })).toBe(false);
  });
});

describe('isRunnerCacheVolume', () => {
  it('recognises old and new gitlab-runner cache volume names and the cache label', () => {
    expect(isRunnerCacheVolume({ name: 'runner-xyz-project-3-concurrent-0-cache-c33bcaa1fd2c77edfc3893b41966cea8', labels: {} })).toBe(true);
    expect(isRunnerCacheVolume({ name: 'runner-a1b2c3-cache-c33bcaa1fd2c77edfc3893b41966cea8', labels: {} })).toBe(true);
    expect(isRunnerCacheVolume({ name: 'x', labels: { 'com.gitlab.gitlab-runner.type': 'cache' } })).toBe(true);
    expect(isRunnerCacheVolume({ name: 'runner-cache', labels: {} })).toBe(false);
  });
});
