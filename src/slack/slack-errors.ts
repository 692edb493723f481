/** The `error` of a Web API answer (`{ok:false,error}`), or undefined for anything else. */
export function slackErrorCode(err: unknown): string | undefined {
  const e = err as { code?: string; data?: { error?: unknown } } | undefined;
  return e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string' ? e.data.error : undefined;
}

/** Answers that mean "the bot cannot post in this conversation", as opposed to a broken request. */
const CANNOT_POST = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action', 'ekm_access_denied', 'team_access_not_granted']);

export function cannotPostThere(err: unknown): boolean {
  const code = slackErrorCode(err);
  return code !== undefined && CANNOT_POST.has(code);
}

/**
 * The one line a person reads when the bot cannot post `what` in `where` (a DM id or a channel name):
 * what to invite, or the scope that lets it post in public channels it has not joined.
 */
export function cannotPostLine(what: string, where: { channel: string; label: string }, code: string | undefined): string {
  if (code === 'is_archived') return `I cannot post ${what} in ${where.label}: the channel is archived.`;
  if (where.channel.startsWith('D')) return `I cannot post ${what} in a direct message I am not part of; run the command in a channel I am in.`;
  return `I cannot post ${what} in ${where.label}: invite me there (/invite @runnerops), or add the chat:write.public scope to the app so I can post in public channels without joining.`;
}
