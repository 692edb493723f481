import type { IncomingMessage } from 'node:http';

/** A file part of a multipart body. */
export interface UploadedPart {
  field: string;
  filename: string;
  bytes: Buffer;
}

/** A Web API request as the fake sees it. */
export type ApiRequest =
  | {
      ok: true;
      /** Arguments from the query string and body, `token` included (removed before recording). */
      params: Record<string, unknown>;
      files: UploadedPart[];
      /** Token from `Authorization: Bearer ...`. */
      bearer?: string;
      /** Token from a form or query `token` argument (Slack ignores it in JSON bodies). */
      argToken?: string;
    }
  | { ok: false; error: 'invalid_json' | 'json_not_object' | 'invalid_form_data'; params: Record<string, unknown> };

/** Reads the whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const auth = headerValue(req, 'authorization');
  const match = auth ? /^Bearer\s+(\S+)$/i.exec(auth.trim()) : null;
  return match ? match[1] : undefined;
}

/** Parses a multipart/form-data body with the platform's own parser (undici), as Slack's edge would. */
export async function readMultipart(contentType: string, raw: Buffer): Promise<{ fields: Record<string, string>; files: UploadedPart[] }> {
  const form = await new Request('http://fake.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: raw,
  }).formData();
  const fields: Record<string, string> = {};
  const files: UploadedPart[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') fields[field] = value;
    else files.push({ field, filename: value.name, bytes: Buffer.from(await value.arrayBuffer()) });
  }
  return { fields, files };
}

/**
 * Parses a Web API call the way Slack documents: arguments as `application/x-www-form-urlencoded`,
 * `application/json` (token only in the Authorization header), multipart, or the query string.
 */
export async function readApiRequest(req: IncomingMessage, url: URL, raw: Buffer): Promise<ApiRequest> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams.entries());
  const contentType = (headerValue(req, 'content-type') ?? '').toLowerCase();
  const bearer = bearerToken(req);
  const files: UploadedPart[] = [];
  let formToken = typeof params.token === 'string' ? params.token : undefined;

  if (raw.length > 0) {
    if (contentType.startsWith('application/json')) {
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return { ok: false, error: 'invalid_json', params };
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return { ok: false, error: 'json_not_object', params };
      }
      Object.assign(params, body);
    } else if (contentType.startsWith('multipart/form-data')) {
      try {
        const parsed = await readMultipart(headerValue(req, 'content-type') ?? '', raw);
        Object.assign(params, parsed.fields);
        files.push(...parsed.files);
        if (typeof parsed.fields.token === 'string') formToken = parsed.fields.token;
      } catch {
        return { ok: false, error: 'invalid_form_data', params };
      }
    } else {
      const form = new URLSearchParams(raw.toString('utf8'));
      for (const [key, value] of form.entries()) params[key] = value;
      if (form.has('token')) formToken = form.get('token') ?? undefined;
    }
  }
  return { ok: true, params, files, bearer, argToken: formToken };
}
