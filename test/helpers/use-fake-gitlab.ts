import { afterAll, beforeAll } from 'vitest';
import { startFakeGitlab, type FakeGitlab } from '../fakes/gitlab/start-fake-gitlab.js';

/** A fake GitLab for the whole file: started before its tests, closed after them. Call the result inside a test. */
export function useFakeGitlab(): () => FakeGitlab {
  let fake: FakeGitlab | undefined;
  beforeAll(async () => {
    fake = await startFakeGitlab();
  });
  afterAll(async () => {
    await fake?.close();
  });
  return () => {
    if (!fake) throw new Error('the fake GitLab is not started yet: call useFakeGitlab() at the top of the file and read it inside a test');
    return fake;
  };
}
