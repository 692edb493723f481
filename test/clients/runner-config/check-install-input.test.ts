import { describe, expect, it } from 'vitest';
import {
  checkRunnerToken,
  checkSameGitlab,
  checkSourceSafe,
  isSourceSafe,
  normalizeGitlabUrl,
} from '../../../src/clients/runner-config/check-install-input.js';
import { PermanentJobError } from '../../../src/errors.js';

describe('checkRunnerToken', () => {
  it('takes glrt- tokens in the classic and the routable form', () => {
    expect(() => checkRunnerToken('glrt-AbCdEfGhIjKlMnOpQrSt_-')).not.toThrow();
    expect(() => checkRunnerToken('glrt-t3_AbCdEfGhIjKlMnOpQrSt.01.1a0b2c3d4')).not.toThrow();
  });

  it('refuses anything else without repeating it', () => {
    for (const bad of ['$(touch /tmp/x)', 'glpat-AbCdEfGhIjKlMnOpQrSt', 'glrt-short', 'glrt-AbCdEfGhIjKlMnOpQrSt`id`', 'glrt-AbCdEfGhIjKlMnOpQrSt\nX=1']) {
      let message = '';
      try {
        checkRunnerToken(bad);
      } catch (err) {
        expect(err).toBeInstanceOf(PermanentJobError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/^the sealed token is not a runner authentication token/);
      expect(message).not.toContain(bad);
    }
  });
});

describe('isSourceSafe', () => {
  it('takes URLs and tokens and refuses what bash would expand or run', () => {
    expect(isSourceSafe('https://gitlab.example.com:8443/sub/path')).toBe(true);
    for (const bad of ['$(id)', '`id`', 'a;b', 'a b', "it's", 'a"b', 'a\\b', '~root', 'a|b', 'a&b', 'a>b', '*', 'a\nb', '${X}']) {
      expect(isSourceSafe(bad), bad).toBe(false);
    }
  });
});

describe('checkSourceSafe', () => {
  it('names the variable and what is allowed', () => {
    expect(() => checkSourceSafe('CI_SERVER_URL', 'https://x/$(id)')).toThrow(
      new PermanentJobError(
        "refusing to write CI_SERVER_URL: its value has characters a shell would expand or run when gitlab-runner's configure script sources the file (allowed: letters, digits and . _ : / ? # @ % + = , -)",
      ),
    );
  });
});

describe('normalizeGitlabUrl', () => {
  it('drops a trailing slash and the default port, and refuses credentials or a query', () => {
    expect(normalizeGitlabUrl('HTTPS://GitLab.example.com:443/')).toBe('https://gitlab.example.com');
    expect(normalizeGitlabUrl('https://gitlab.example.com/gl/')).toBe('https://gitlab.example.com/gl');
    expect(normalizeGitlabUrl('https://u:p@gitlab.example.com')).toBeUndefined();
    expect(normalizeGitlabUrl('https://gitlab.example.com/?x=$(id)')).toBeUndefined();
    expect(normalizeGitlabUrl('file:///etc/passwd')).toBeUndefined();
  });
});

describe('checkSameGitlab', () => {
  it("returns the worker's own URL for the same GitLab and refuses another one", () => {
    expect(checkSameGitlab('https://gitlab.example.com/', 'https://gitlab.example.com')).toBe('https://gitlab.example.com');
    expect(() => checkSameGitlab('https://gitlab.example.com.evil.test', 'https://gitlab.example.com')).toThrow(
      /^the runner is for another GitLab than this worker's GITLAB_URL/,
    );
  });
});
