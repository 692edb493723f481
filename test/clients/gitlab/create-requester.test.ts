import { describe, expect, it } from 'vitest';
import { decamelizeKeys, formatQuery } from '../../../src/clients/gitlab/create-requester.js';

describe('decamelizeKeys', () => {
  it('turns camelCase keys into snake_case at every level, leaving values alone', () => {
    expect(decamelizeKeys({ systemId: 's_1', tagList: ['fooBar'], nested: { runUntagged: true } })).toEqual({
      system_id: 's_1',
      tag_list: ['fooBar'],
      nested: { run_untagged: true },
    });
  });
});

describe('formatQuery', () => {
  it('writes arrays as key[] and leaves out undefined values', () => {
    expect(formatQuery({ status: 'running', perPage: 100, tagList: ['a', 'b'], page: undefined })).toBe(
      'status=running&per_page=100&tag_list%5B%5D=a&tag_list%5B%5D=b',
    );
  });
});
