import { GitbeakerRequestError } from '@gitbeaker/rest';

/** What gitbeaker hands a requester factory (the part we use). */
export interface RequesterResourceOptions {
  headers: Record<string, string>;
  authHeaders: Record<string, () => Promise<string>>;
  url: string;
}

export interface RequestOptions {
  body?: FormData | Record<string, unknown>;
  searchParams?: Record<string, unknown>;
  sudo?: string | number;
  method?: string;
  asStream?: boolean;
  signal?: AbortSignal;
}

export interface FormattedResponse {
  body: unknown;
  headers: Record<string, string>;
  status: number;
}

export type Requester = Record<'get' | 'post' | 'put' | 'patch' | 'delete', (endpoint: string, options?: RequestOptions) => Promise<FormattedResponse>>;

function snakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Decamelizes object keys recursively, as gitbeaker's own requester does (tagList -> tag_list). */
export function decamelizeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decamelizeKeys);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeCase(k), decamelizeKeys(v)]));
  }
  return value;
}

/** Query string with `key[]=v` for arrays (GitLab's convention); undefined values are left out. */
export function formatQuery(params: Record<string, unknown> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(decamelizeKeys(params) as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) search.append(`${key}[]`, String(v));
    else search.append(key, String(value));
  }
  return search.toString();
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const type = ((response.headers.get('content-type') ?? '').split(';')[0] ?? '').trim();
  if (type === 'application/json') return ((await response.json()) as unknown) ?? {};
  return response.text();
}

/**
 * A gitbeaker requester on `fetch` that makes exactly one HTTP request per call: unlike gitbeaker's
 * default it never retries 429/502 by itself (it would resend a token reset blindly and ignore
 * Retry-After). Retries are ours (see retry-idempotent.ts). Non-2xx answers throw
 * `GitbeakerRequestError` with `cause.response` (status, headers) and `cause.description`, like gitbeaker.
 */
export function createRequester(options: RequesterResourceOptions, defaults: { timeoutMs: number }): Requester {
  const call =
    (method: string) =>
    async (endpoint: string, request: RequestOptions = {}): Promise<FormattedResponse> => {
      const headers: Record<string, string> = { ...options.headers };
      if (request.sudo !== undefined) headers.sudo = String(request.sudo);
      for (const [name, value] of Object.entries(options.authHeaders)) headers[name] = await value();
      let body: string | FormData | undefined;
      if (request.body instanceof FormData) body = request.body;
      else if (request.body !== undefined && Object.keys(request.body).length > 0) {
        body = JSON.stringify(decamelizeKeys(request.body));
        headers['content-type'] = 'application/json';
      }
      const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
      const url = new URL(endpoint, base);
      url.search = formatQuery(request.searchParams);
      const timeout = AbortSignal.timeout(defaults.timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
      const response = await fetch(url, { method, headers, body, signal });
      if (response.ok) {
        return { body: await readBody(response), headers: Object.fromEntries(response.headers.entries()), status: response.status };
      }
      const text = await response.text();
      let description = text;
      if ((response.headers.get('content-type') ?? '').includes('application/json')) {
        try {
          const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
          const content = parsed.error ?? parsed.message ?? '';
          description = typeof content === 'string' ? content : JSON.stringify(content);
        } catch {
          description = text;
        }
      }
      // The request itself is not kept on the error: its body may hold a runner token.
      throw new GitbeakerRequestError(description, { cause: { description, request: new Request(url, { method }), response } });
    };
  return { get: call('GET'), post: call('POST'), put: call('PUT'), patch: call('PATCH'), delete: call('DELETE') };
}
