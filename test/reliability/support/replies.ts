import type { FakeSlack } from '../../fakes/slack/server.js';

/** The full text of a private answer: the code blocks it was sent in, unwrapped and unescaped. */
export function replyText(blocks: unknown): string {
  const list = Array.isArray(blocks) ? (blocks as Array<{ text?: { text?: string } }>) : [];
  return list
    .map((b) => (b.text?.text ?? '').replace(/^```/, '').replace(/```$/, ''))
    .join('\n')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Waits for the private answer to `user` and returns its full text. */
export async function waitForReply(slack: FakeSlack, user: string, timeoutMs = 15_000): Promise<string> {
  const call = await slack.waitFor('chat.postEphemeral', (c) => c.params.user === user, timeoutMs);
  return replyText(call.params.blocks);
}
