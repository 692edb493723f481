import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBlocks, describeBlockProblems } from './check-blocks.js';
import { messageSequences } from './mrkdwn-syntax.js';

/** The path prefix of the response URLs the fake hands out. */
export const RESPONSE_PATH = '/commands/';

/** One POST to a response URL (what Bolt's `respond()` sends). */
export interface FakeResponse {
  /** The response URL it was sent to. */
  url: string;
  /** The JSON body: text, blocks, response_type, replace_original, delete_original... */
  body: Record<string, unknown>;
  /** Epoch milliseconds. */
  at: number;
  /** HTTP status the fake answered. */
  status: number;
  error?: string;
  /** Control sequences Slack renders in the reply (`<!channel>`, `<@U…>`, links). */
  sequences: string[];
}

/** Limits of one response URL. */
export interface ResponseUrlOptions {
  /** How many posts Slack accepts. @defaultValue 5 */
  maxUses?: number;
  /** How long the URL lives. @defaultValue 1_800_000 (30 minutes) */
  ttlMs?: number;
}

interface Issued {
  uses: number;
  maxUses: number;
  expiresAt: number;
}

/** Response URLs: issued to tests for payloads, counted, expired, and recorded. */
export interface ResponseUrls {
  issue(baseUrl: string, teamId: string, options?: ResponseUrlOptions): string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL, raw: Buffer): void;
  readonly responses: FakeResponse[];
  reset(): void;
}

function parseBody(req: IncomingMessage, raw: Buffer): Record<string, unknown> | undefined {
  const text = raw.toString('utf8');
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  try {
    const value: unknown = contentType.startsWith('application/x-www-form-urlencoded')
      ? JSON.parse(new URLSearchParams(text).get('payload') ?? '')
      : JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Builds the response URL registry. */
export function createResponseUrls(): ResponseUrls {
  const issued = new Map<string, Issued>();
  const responses: FakeResponse[] = [];
  return {
    responses,
    issue(baseUrl, teamId, options = {}) {
      const path = `${RESPONSE_PATH}${teamId}/${Date.now()}/${randomBytes(12).toString('hex')}`;
      issued.set(path, { uses: 0, maxUses: options.maxUses ?? 5, expiresAt: Date.now() + (options.ttlMs ?? 30 * 60_000) });
      return `${baseUrl}${path}`;
    },
    handle(req, res, url, raw) {
      const at = Date.now();
      const body = parseBody(req, raw);
      const answer = (status: number, error?: string): void => {
        const sent = body ?? {};
        const sequences = messageSequences(typeof sent.text === 'string' ? sent.text : undefined, sent.blocks);
        responses.push({ url: url.href, body: sent, at, status, sequences, ...(error ? { error } : {}) });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(error ? { ok: false, error } : { ok: true }));
      };
      const entry = issued.get(url.pathname);
      if (!entry) return answer(404, 'invalid_url');
      if (at > entry.expiresAt) return answer(404, 'expired_url');
      if (entry.uses >= entry.maxUses) return answer(404, 'used_url');
      entry.uses += 1;
      if (!body) return answer(400, 'invalid_payload');
      const hasContent = typeof body.text === 'string' && body.text !== '';
      const blocks = body.blocks;
      if (blocks !== undefined) {
        const problems = checkBlocks(blocks, 50);
        if (problems.length > 0) return answer(400, `invalid_blocks: ${describeBlockProblems(problems).join('; ')}`);
      }
      if (!hasContent && !(Array.isArray(blocks) && blocks.length > 0) && body.delete_original !== true) {
        return answer(400, 'no_text');
      }
      return answer(200);
    },
    reset() {
      responses.length = 0;
    },
  };
}
