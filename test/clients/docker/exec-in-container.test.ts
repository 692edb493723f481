import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { execInContainer } from '../../../src/clients/docker/exec-in-container.js';
import { demuxLogBuffer, readLastLogLines } from '../../../src/clients/docker/read-container-logs.js';
import { ensureDockerEngine } from '../../setup/docker-engine.js';
import { ensureBusyboxImage } from '../../setup/docker-images.js';

let docker: Docker;
const name = `runnerops-test-exec-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  docker = await ensureDockerEngine();
  const image = await ensureBusyboxImage();
  const c = await docker.createContainer({
    name,
    Image: image,
    Cmd: ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6; do echo line $i; done; echo oops >&2; exec sleep 600'],
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
});

afterAll(async () => {
  await docker
    .getContainer(name)
    .remove({ force: true, v: true })
    .catch(() => undefined);
});

describe('execInContainer', () => {
  it('returns stdout, stderr and the exit code separately', async () => {
    const r = await execInContainer(docker, name, ['/bin/sh', '-c', 'echo out; echo err >&2; echo $GREETING; exit 3'], { env: ['GREETING=hi'] });
    expect(r).toEqual({ exitCode: 3, stdout: 'out\nhi\n', stderr: 'err\n', timedOut: false });
  });

  it('stops waiting after the timeout', async () => {
    const started = Date.now();
    const r = await execInContainer(docker, name, ['sleep', '5'], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('readLastLogLines', () => {
  it('returns the last lines of stdout and stderr', async () => {
    let lines: string[] = [];
    for (let i = 0; i < 50 && !lines.includes('oops'); i++) {
      lines = await readLastLogLines(docker, name, 10);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // stdout and stderr are logged by separate copiers, so their relative order is not fixed.
    expect(lines).toContain('oops');
    expect(lines).toContain('line 6');
    expect(await readLastLogLines(docker, name, 2)).toHaveLength(2);
  });
});

describe('demuxLogBuffer', () => {
  it('strips frame headers and passes TTY output through', () => {
    const frame = (type: number, text: string): Buffer => {
      const header = Buffer.alloc(8);
      header[0] = type;
      header.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([header, Buffer.from(text)]);
    };
    expect(demuxLogBuffer(Buffer.concat([frame(1, 'a\n'), frame(2, 'b\n')]))).toBe('a\nb\n');
    expect(demuxLogBuffer(Buffer.from('plain tty output\n'))).toBe('plain tty output\n');
  });
});
