import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { demoDaemonName, startDemoNixDaemon } from '../../src/dev/demo-nix-daemon.js';

const NAME = demoDaemonName(`/tmp/test-${process.pid}-${Date.now()}`);

describe('startDemoNixDaemon', () => {
  it('runs a nix-daemon under a name of its own, never gitlabnix, and removes it on stop', async () => {
    const docker = new Docker();
    const daemon = await startDemoNixDaemon(docker, undefined, NAME);
    try {
      expect(daemon.name).toBe(NAME);
      const state = await docker.getContainer(NAME).inspect();
      expect(state.State.Running).toBe(true);
      expect(state.Config.Cmd).toEqual(['/usr/bin/nix-daemon']);
    } finally {
      await daemon.stop();
    }
    await expect(docker.getContainer(NAME).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 120_000);
});
