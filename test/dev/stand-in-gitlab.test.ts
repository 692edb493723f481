import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandInGitlab, type StandInGitlab } from '../../src/dev/stand-in-gitlab.js';

let gitlab: StandInGitlab;
beforeAll(async () => {
  gitlab = await startStandInGitlab();
});
afterAll(async () => gitlab.close());

describe('startStandInGitlab', () => {
  it('accepts the demo runner’s token like GitLab does and refuses a wrong one', async () => {
    const verify = (token: string) =>
      fetch(`${gitlab.url}/api/v4/runners/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, system_id: 's_dev' }),
      });
    expect((await verify(gitlab.demoRunner.token)).status).toBe(200);
    expect((await verify('glrt-wrong')).status).toBe(403);
  });

  it('gives an admin token that may read the demo runner', async () => {
    const response = await fetch(`${gitlab.url}/api/v4/runners/${gitlab.demoRunner.id}`, { headers: { 'private-token': gitlab.adminToken } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: gitlab.demoRunner.id, description: 'demo' });
  });
});
