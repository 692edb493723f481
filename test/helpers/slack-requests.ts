import { createHmac, randomBytes } from 'node:crypto';
import appHomeOpenedFixture from '../fixtures/slack/app-home-opened.json' with { type: 'json' };
import blockActionsFixture from '../fixtures/slack/block-actions.json' with { type: 'json' };
import slashCommandFixture from '../fixtures/slack/slash-command.json' with { type: 'json' };
import { defined } from './defined.js';

/**
 * Requests as Slack sends them to an app's Request URL (`POST /slack/events`), signed with the app's
 * signing secret. Payloads start from the documented examples in test/fixtures/slack/ and take overrides.
 */

/**
 * The response_url payloads carry unless told otherwise: a closed loopback port, so a `respond()` the test did not
 * plan for fails fast instead of leaving the machine. Pass `fake.responseUrl()` to record responses.
 */
export const UNREACHABLE_RESPONSE_URL = 'http://127.0.0.1:9/commands/pass-fake.responseUrl()-to-record-responses';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function slackTs(nowMs = Date.now()): string {
  return `${Math.floor(nowMs / 1000)}.${String((nowMs % 1000) * 1000 + Math.floor(Math.random() * 1000)).padStart(6, '0')}`;
}

/** Fields of a slash command request (all optional; defaults come from the fixture: `/runner ping ci-1` in #ops). */
export interface SlashCommandOptions {
  text?: string;
  command?: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  team_domain?: string;
  api_app_id?: string;
  /** @defaultValue UNREACHABLE_RESPONSE_URL */
  response_url?: string;
  trigger_id?: string;
}

/** A fresh trigger id, as Slack gives every command and click its own. */
export function newTriggerId(): string {
  return `${Date.now()}${Math.floor(Math.random() * 1000)}.1000000001.${randomBytes(16).toString('hex')}`;
}

/** A slash command's fields as Slack sends them (every value a string), e.g. for a Socket Mode envelope. */
export function slashCommandPayload(options: SlashCommandOptions = {}): Record<string, string> {
  return { ...slashCommandFixture, response_url: UNREACHABLE_RESPONSE_URL, trigger_id: newTriggerId(), ...definedOnly(options) } as Record<string, string>;
}

/** A slash command request body, form-encoded like Slack does. */
export function slashCommandBody(options: SlashCommandOptions = {}): string {
  return new URLSearchParams(slashCommandPayload(options)).toString();
}

/** The message a button sits on: a fake Slack message (FakeMessage) fits. */
export interface ClickedMessage {
  ts: string;
  text?: string;
  blocks?: unknown[];
  user?: string;
  channel?: string;
}

/** Fields of a button click (block_actions); defaults come from the fixture (ada clicks Approve). */
export interface BlockActionsOptions {
  action_id: string;
  /** @defaultValue the button's value in `message.blocks`, else the fixture's */
  value?: string;
  /** @defaultValue the block holding `action_id` in `message.blocks`, else the fixture's */
  block_id?: string;
  /** Button label. @defaultValue the button's text in `message.blocks`, else "Approve" */
  action_text?: string;
  user_id?: string;
  user_name?: string;
  /** @defaultValue `message.channel`, else the fixture's C0OPSCHAN01 */
  channel_id?: string;
  channel_name?: string;
  team_id?: string;
  api_app_id?: string;
  /** The message carrying the button. @defaultValue the fixture's approval card */
  message?: ClickedMessage;
  /** @defaultValue UNREACHABLE_RESPONSE_URL */
  response_url?: string;
  trigger_id?: string;
}

interface FoundButton {
  block_id: string;
  value?: string;
  text?: string;
  style?: string;
}

function findButton(blocks: unknown[] | undefined, actionId: string): FoundButton | undefined {
  for (const block of blocks ?? []) {
    const b = block as { block_id?: string; elements?: unknown[]; accessory?: unknown };
    const elements = [...(b.elements ?? []), ...(b.accessory ? [b.accessory] : [])];
    for (const element of elements) {
      const e = element as { action_id?: string; value?: string; text?: { text?: string }; style?: string };
      if (e.action_id === actionId && typeof b.block_id === 'string') {
        return { block_id: b.block_id, value: e.value, text: e.text?.text, style: e.style };
      }
    }
  }
  return undefined;
}

/** A block_actions payload for one button click, shaped like Slack's documented example. */
export function blockActionsPayload(options: BlockActionsOptions): Record<string, unknown> {
  const base = blockActionsFixture;
  const message = options.message
    ? {
        ...base.message,
        ts: options.message.ts,
        user: options.message.user ?? base.message.user,
        text: options.message.text ?? '',
        blocks: options.message.blocks ?? [],
      }
    : base.message;
  const found = findButton(message.blocks as unknown[], options.action_id);
  const fixtureAction = defined(base.actions[0], 'an action in fixtures/slack/block-actions.json');
  const channelId = options.channel_id ?? options.message?.channel ?? base.channel.id;
  const teamId = options.team_id ?? base.team.id;
  const userName = options.user_name ?? base.user.username;
  const action: Record<string, unknown> = {
    action_id: options.action_id,
    block_id: options.block_id ?? found?.block_id ?? fixtureAction.block_id,
    text: { type: 'plain_text', text: options.action_text ?? found?.text ?? fixtureAction.text.text, emoji: true },
    value: options.value ?? found?.value ?? fixtureAction.value,
    ...(found?.style ? { style: found.style } : {}),
    type: 'button',
    action_ts: slackTs(),
  };
  return {
    ...base,
    user: { id: options.user_id ?? base.user.id, username: userName, name: userName, team_id: teamId },
    api_app_id: options.api_app_id ?? base.api_app_id,
    container: { type: 'message', message_ts: message.ts, channel_id: channelId, is_ephemeral: false },
    trigger_id: options.trigger_id ?? newTriggerId(),
    team: { ...base.team, id: teamId },
    channel: { id: channelId, name: options.channel_name ?? base.channel.name },
    message,
    response_url: options.response_url ?? UNREACHABLE_RESPONSE_URL,
    actions: [action],
  };
}

/** A button click request body: form-encoded `payload=<json>`, as Slack sends interactivity. */
export function blockActionsBody(options: BlockActionsOptions): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(options)) }).toString();
}

/** Fields of the Events API wrapper around an event. */
export interface EventCallbackOptions {
  team_id?: string;
  api_app_id?: string;
  /** @defaultValue a fresh `Ev...` id */
  event_id?: string;
  /** Epoch seconds. @defaultValue now */
  event_time?: number;
  /** The installing bot user, in `authorizations`. @defaultValue U0RUNNERBOT */
  bot_user_id?: string;
}

/** An `app_home_opened` event (the fixture's, for another user or tab if asked). */
export function appHomeOpenedEvent(options: { user?: string; channel?: string; tab?: 'home' | 'messages'; view?: unknown } = {}): Record<string, unknown> {
  return {
    ...appHomeOpenedFixture.event,
    ...definedOnly(options),
    event_ts: slackTs(),
  };
}

/** An event wrapped in Slack's `event_callback` envelope. */
export function eventCallbackPayload(event: Record<string, unknown>, options: EventCallbackOptions = {}): Record<string, unknown> {
  const base = appHomeOpenedFixture;
  const authorization = defined(base.authorizations[0], 'an authorization in the app_home_opened fixture');
  const teamId = options.team_id ?? base.team_id;
  return {
    ...base,
    team_id: teamId,
    context_team_id: teamId,
    api_app_id: options.api_app_id ?? base.api_app_id,
    event,
    event_id: options.event_id ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: options.event_time ?? Math.floor(Date.now() / 1000),
    authorizations: [{ ...authorization, team_id: teamId, user_id: options.bot_user_id ?? authorization.user_id }],
  };
}

/** An Events API request body (JSON `event_callback`). */
export function eventBody(event: Record<string, unknown>, options: EventCallbackOptions = {}): string {
  return JSON.stringify(eventCallbackPayload(event, options));
}

/** Slack's SSL check: form-encoded, unsigned by design (Bolt answers it without verifying). */
export function sslCheckBody(): string {
  return new URLSearchParams({ ssl_check: '1', token: slashCommandFixture.token }).toString();
}

/** The Events API URL verification handshake. */
export function urlVerificationBody(challenge: string): string {
  return JSON.stringify({ token: slashCommandFixture.token, challenge, type: 'url_verification' });
}

/** `X-Slack-Signature` for a body: `v0=` + HMAC-SHA256(secret, `v0:{timestamp}:{body}`) in hex. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Epoch seconds now, as `X-Slack-Request-Timestamp` carries it. */
export function currentTimestamp(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000);
}

/** A timestamp six minutes old: past Slack's five-minute replay window. */
export function staleTimestamp(nowMs = Date.now()): number {
  return currentTimestamp(nowMs) - 6 * 60;
}

/** A timestamp six minutes ahead: a skewed or forged clock. */
export function futureTimestamp(nowMs = Date.now()): number {
  return currentTimestamp(nowMs) + 6 * 60;
}

/** A well-formed signature that matches nothing (as an attacker without the secret would send). */
export function forgedSignature(): string {
  return `v0=${randomBytes(32).toString('hex')}`;
}

export interface SignedRequestOptions {
  /** The app's signing secret. */
  secret: string;
  /** `X-Slack-Request-Timestamp` in epoch seconds; false omits the header. @defaultValue now */
  timestamp?: number | false;
  /** `X-Slack-Signature`; false omits the header. @defaultValue the correct signature for body and timestamp */
  signature?: string | false;
  /** @defaultValue application/json for a body starting with `{`, else application/x-www-form-urlencoded */
  contentType?: string;
  /** Extra headers, e.g. `X-Slack-Retry-Num`. @defaultValue {} */
  headers?: Record<string, string>;
}

/** The headers Slack would send with `body`, signed per the options. */
export function signedHeaders(body: string, options: SignedRequestOptions): Record<string, string> {
  const timestamp = options.timestamp === undefined ? currentTimestamp() : options.timestamp;
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? (body.trimStart().startsWith('{') ? JSON_TYPE : FORM),
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...options.headers,
  };
  if (timestamp !== false) headers['x-slack-request-timestamp'] = String(timestamp);
  const signature = options.signature === undefined ? signBody(options.secret, timestamp === false ? 0 : timestamp, body) : options.signature;
  if (signature !== false) headers['x-slack-signature'] = signature;
  return headers;
}

/** POSTs `body` to `url` the way Slack does (signed unless told otherwise) and returns the fetch Response. */
export function signedPost(url: string, body: string, options: SignedRequestOptions): Promise<Response> {
  return fetch(url, { method: 'POST', headers: signedHeaders(body, options), body });
}
