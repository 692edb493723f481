import type { GitlabApi } from './create-gitlab-client.js';
import { retryIdempotent, type RetryOptions } from './retry-idempotent.js';

/** GitLab answers at most 100 items per page. */
const PER_PAGE = 100;

/** Stops a list that never ends (a server bug) instead of reading forever. @defaultValue 1000 pages */
const MAX_PAGES = 1000;

/**
 * Every item of a paginated GitLab list (`GET` with `page` / `per_page`), following `x-next-page`
 * until it is empty. Each page is one idempotent request, retried within `retry`'s bounds.
 */
export async function readAllPages<T>(api: GitlabApi, endpoint: string, searchParams: Record<string, unknown> = {}, retry: RetryOptions = {}): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1, pages = 0; pages < MAX_PAGES; pages++) {
    const response = await retryIdempotent(
      () => api.requester.get(endpoint, { searchParams: { ...searchParams, page, per_page: PER_PAGE }, signal: retry.signal }),
      retry,
    );
    if (Array.isArray(response.body)) items.push(...(response.body as T[]));
    const next = Number(response.headers['x-next-page'] ?? '');
    if (!Number.isInteger(next) || next <= page) return items;
    page = next;
  }
  throw new Error(`GitLab's ${endpoint} list did not end after ${MAX_PAGES} pages`);
}
