import { describe, expect, it } from 'vitest';
import { classifyApiError } from '../../src/ops/classify-api-error.js';

describe('classifyApiError', () => {
  it('uses Slack platform error codes', () => {
    expect(classifyApiError({ code: 'slack_webapi_platform_error', data: { ok: false, error: 'channel_not_found' } })).toBe('channel_not_found');
  });

  it('names Slack rate limits, HTTP and request errors', () => {
    expect(classifyApiError({ code: 'slack_webapi_rate_limited_error', retryAfter: 30 })).toBe('ratelimited');
    expect(classifyApiError({ code: 'slack_webapi_http_error', statusCode: 503 })).toBe('http_503');
    expect(classifyApiError({ code: 'slack_webapi_request_error' })).toBe('request_error');
  });

  it('uses the HTTP status of a GitLab request error', () => {
    expect(classifyApiError({ name: 'GitbeakerRequestError', cause: { response: { status: 403 } } })).toBe('http_403');
    expect(classifyApiError({ name: 'GitbeakerRequestError', cause: { response: { status: 429 } } })).toBe('ratelimited');
    expect(classifyApiError({ name: 'GitbeakerTimeoutError' })).toBe('timeout');
  });

  it('uses network error codes and never message text', () => {
    expect(classifyApiError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }))).toBe('econnrefused');
    expect(classifyApiError(new Error('token xoxb-123456789 rejected'))).toBe('other');
    expect(classifyApiError({ code: 'slack_webapi_platform_error', data: { error: 'Bad thing xoxb-1234567' } })).toBe('platform_error');
    expect(classifyApiError('boom')).toBe('other');
  });
});
