import type { Redis } from 'ioredis';
import type { FakeSlack } from '../../fakes/slack/server.js';
import { allCommands, cardOf, cardText, finishedAt, slash } from './stack.js';

/** One slash command sent by the traffic generator, under its own user id. */
export interface SentCommand {
  user: string;
  text: string;
  sentAt: number;
  status: number;
  ackMs: number;
}

/** What became of a sent command: its card finished, the user was told it was not queued, or neither (lost). */
export interface Outcome {
  sent: SentCommand;
  commandIds: string[];
  finished: boolean;
  /** The card's final content, when finished. */
  card?: string;
  toldNotQueued: boolean;
  /** Other private answers the user got. */
  told: string[];
}

/**
 * Sends `text` every `everyMs` from a new user id each time (`<userPrefix><n>`), until `stop()`:
 * the ids tie each request to its command record and its Slack answers.
 */
export function startTraffic(options: { eventsUrl: string; secret: string; text: string; everyMs: number; userPrefix: string; channel?: string }): {
  sent: SentCommand[];
  stop: () => Promise<void>;
} {
  const sent: SentCommand[] = [];
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const timer = setInterval(() => {
    const user = `${options.userPrefix}${String(n++).padStart(5, '0')}`;
    const sentAt = Date.now();
    const request = slash(options.eventsUrl, options.secret, options.text, user, options.channel)
      .then(
        (r) => void sent.push({ user, text: options.text, sentAt, status: r.status, ackMs: r.ms }),
        () => void sent.push({ user, text: options.text, sentAt, status: 0, ackMs: Date.now() - sentAt }),
      )
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  }, options.everyMs);
  return {
    sent,
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      sent.sort((a, b) => a.sentAt - b.sentAt);
    },
  };
}

const NOT_QUEUED = /nothing was queued/;

/** Reads, from Redis and the fake Slack, what became of each sent command. */
export async function outcomes(redis: Redis, prefix: string, slack: FakeSlack, sent: SentCommand[]): Promise<Outcome[]> {
  const byUser = new Map<string, string[]>();
  for (const command of await allCommands(redis, prefix)) {
    byUser.set(command.requester.user, [...(byUser.get(command.requester.user) ?? []), command.id]);
  }
  const ephemerals = new Map<string, string[]>();
  for (const e of slack.ephemerals) ephemerals.set(e.user, [...(ephemerals.get(e.user) ?? []), e.text]);
  return sent.map((s) => {
    const commandIds = byUser.get(s.user) ?? [];
    const cards = commandIds.map((id) => cardOf(slack, id));
    const finished = cards.length > 0 && cards.every((c) => finishedAt(c) !== undefined);
    const told = ephemerals.get(s.user) ?? [];
    return {
      sent: s,
      commandIds,
      finished,
      ...(finished && cards[0] !== undefined ? { card: cardText(cards[0]) } : {}),
      toldNotQueued: told.some((t) => NOT_QUEUED.test(t)),
      told,
    };
  });
}

/** Outcomes that are neither a finished card nor a "not queued" answer. */
export function unresolved(list: Outcome[]): Outcome[] {
  return list.filter((o) => !o.finished && !o.toldNotQueued);
}

/** Outcomes where the user heard nothing at all: no finished card and no private answer. */
export function unanswered(list: Outcome[]): Outcome[] {
  return list.filter((o) => !o.finished && o.told.length === 0);
}

/** A one-line description of an outcome, for assertion messages. */
export function describeOutcome(o: Outcome): string {
  return `${o.sent.user} (${o.sent.text}): commands ${o.commandIds.join(',') || 'none'}; card ${o.finished ? 'finished' : 'not finished'}; told ${JSON.stringify(o.told)}`;
}
