import { checkBlocks, describeBlockProblems } from './check-blocks.js';
import type { UploadedPart } from './read-request.js';
import type { SlackState } from './state.js';

/** A Web API answer body: `{ok:true,...}` or `{ok:false,error,...}`. */
export type MethodResult = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

/** What a method handler may use besides its arguments. */
export interface MethodContext {
  state: SlackState;
  /** `http://127.0.0.1:PORT`, for absolute URLs the fake hands out. */
  baseUrl: string;
  files: UploadedPart[];
}

/** A Web API method: which token kind it needs and how it answers. */
export interface MethodSpec {
  token: 'bot' | 'app';
  handle(params: Record<string, unknown>, ctx: MethodContext): MethodResult;
}

/** An error answer, optionally with Slack's response_metadata.messages. */
export function fail(error: string, messages?: string[]): MethodResult {
  return messages && messages.length > 0
    ? { ok: false, error, errors: messages.map((m) => m.replace(/^\[ERROR\] /, '')), response_metadata: { messages } }
    : { ok: false, error };
}

/** A string argument (numbers and booleans from JSON bodies are stringified); undefined when absent or empty. */
export function stringArg(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A JSON argument: form bodies send it URL-encoded as a string, JSON bodies as a value. */
export function jsonArg(
  params: Record<string, unknown>,
  name: string,
): { present: false } | { present: true; ok: true; value: unknown } | { present: true; ok: false } {
  const value = params[name];
  if (value === undefined || value === '') return { present: false };
  if (typeof value !== 'string') return { present: true, ok: true, value };
  try {
    return { present: true, ok: true, value: JSON.parse(value) };
  } catch {
    return { present: true, ok: false };
  }
}

/**
 * Reads and checks a `blocks` argument. Returns the blocks, undefined when absent, or the error answer
 * (`invalid_blocks_format` for unparsable JSON or a non-array, `invalid_blocks` for Block Kit violations).
 */
export function blocksArg(params: Record<string, unknown>, maxBlocks: number, errorName = 'invalid_blocks'): { blocks?: unknown[]; error?: MethodResult } {
  const parsed = jsonArg(params, 'blocks');
  if (!parsed.present) return {};
  if (!parsed.ok || !Array.isArray(parsed.value)) return { error: fail('invalid_blocks_format') };
  const problems = checkBlocks(parsed.value, maxBlocks);
  if (problems.length > 0) return { error: fail(errorName, describeBlockProblems(problems)) };
  return { blocks: parsed.value };
}

const TS_PATTERN = /^\d+\.\d+$/;

/** Whether a value has the shape of a message timestamp (`1503435956.000247`). */
export function isTs(value: string): boolean {
  return TS_PATTERN.test(value);
}
