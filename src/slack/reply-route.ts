import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How to answer the person whose request is being handled right now. It lives in memory only, for the
 * length of one handler: a response_url lets anyone holding it post into that conversation for 30
 * minutes, so it never goes to Redis, the audit log or a log line.
 */
export type ReplyRoute =
  /** A slash command or a click on a message: response_url works in DMs and channels the bot has not joined. */
  | { kind: 'response-url'; user: string; url: string }
  /** A click on the App Home tab: no channel, no response_url; the answer goes on top of the clicker's Home. */
  | { kind: 'home'; user: string }
  /** A modal submission: a refusal becomes the modal's `response_action: errors`, not a message. */
  | { kind: 'collect'; user: string; collect: (text: string) => void };

const current = new AsyncLocalStorage<ReplyRoute>();

/** Runs `work` with `route` as the way back to `route.user`. */
export function withReplyRoute<T>(route: ReplyRoute, work: () => Promise<T>): Promise<T> {
  return current.run(route, work);
}

/** The route for `user` in the handler running now, if any. */
export function replyRouteFor(user: string): ReplyRoute | undefined {
  const route = current.getStore();
  return route && route.user === user ? route : undefined;
}
