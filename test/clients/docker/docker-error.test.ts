import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { PermanentJobError, TransientJobError } from '../../../src/errors.js';
import { dockerMessage, dockerStatus, isEngineUnreachable, toJobError } from '../../../src/clients/docker/docker-error.js';
import { ensureDockerEngine } from '../../setup/docker-engine.js';

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
}

describe('toJobError', () => {
  it('says what to check when nothing answers on the socket', async () => {
    const err = await failure(new Docker({ socketPath: '/tmp/runnerops-no-such-engine.sock' }).ping());
    expect(isEngineUnreachable(err)).toBe(true);
    const mapped = toJobError(err, 'pruning', 'unix:///tmp/runnerops-no-such-engine.sock');
    expect(mapped).toBeInstanceOf(PermanentJobError);
    expect(mapped.message).toMatch(/^Docker Engine does not answer at unix:\/\/\/tmp\/runnerops-no-such-engine.sock \(ENOENT\) while pruning; check/);
  });

  it('keeps the engine message for an error answer and makes 409 transient', async () => {
    const docker = await ensureDockerEngine();
    const notFound = await failure(docker.getContainer('runnerops-no-such-container').inspect());
    expect(dockerStatus(notFound)).toBe(404);
    expect(dockerMessage(notFound)).toMatch(/No such container/i);
    expect(toJobError(notFound, 'inspecting')).toBeInstanceOf(PermanentJobError);
    expect(toJobError(Object.assign(new Error('x'), { statusCode: 409, json: { message: 'busy' } }), 'pruning')).toBeInstanceOf(TransientJobError);
  });
});
