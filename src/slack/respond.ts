import type { KnownBlock } from '@slack/types';

/** Slack's answer to a response_url POST that did not take the message. */
export class ResponseUrlError extends Error {
  override name = 'ResponseUrlError';
}

/** Slack accepts 5 posts per response_url; keep one for a later note about the same request. */
export const RESPONSE_URL_POSTS = 4;

/**
 * Posts a private reply to a slash command's or click's response_url (no token needed; works wherever
 * the command was typed). Throws ResponseUrlError when Slack does not take it (expired, used up).
 */
export async function postToResponseUrl(url: string, message: { text: string; blocks?: KnownBlock[] }, timeoutMs = 5000): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, ...message }),
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await response.text();
  if (!response.ok) throw new ResponseUrlError(`response_url answered ${response.status}: ${body.slice(0, 200)}`);
}
