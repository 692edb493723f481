import { randomBytes } from 'node:crypto';

/** A workspace member the fake knows (users.info, conversations.open, usergroups). */
export interface FakeUser {
  id: string;
  name: string;
  real_name?: string;
  is_admin?: boolean;
  is_bot?: boolean;
  deleted?: boolean;
  tz?: string;
}

/** A conversation the fake knows (conversations.info, name lookups in chat.postMessage). */
export interface FakeChannel {
  id: string;
  name: string;
  is_private?: boolean;
  is_im?: boolean;
  /** For a DM (`D...`): the other member. */
  user?: string;
  /**
   * Whether the bot is in the conversation. @defaultValue true. When false, chat.postMessage answers
   * `not_in_channel` in a public channel (unless the app has `chat:write.public`) and `channel_not_found`
   * in a private channel or a DM; chat.postEphemeral and file shares need membership in every case.
   */
  is_member?: boolean;
  /** People in the conversation; when set, chat.postEphemeral to anyone else answers `user_not_in_channel`. */
  members?: string[];
}

/** One version of a message's content, as a chat.update left it. */
export interface FakeMessageVersion {
  text: string;
  blocks?: unknown[];
  /** Epoch milliseconds. */
  at: number;
}

/** A message in a channel, with its current content and the chat.update history that led there. */
export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  thread_ts?: string;
  metadata?: unknown;
  /** Author: the bot user for bot posts, a person for seeded messages. */
  user: string;
  bot_id?: string;
  /** True when `text` was longer than Slack keeps (40,000 characters) and was cut. */
  truncated: boolean;
  /** Control sequences Slack renders in the current text and blocks (`<!channel>`, `<@U…>`, links). */
  sequences: string[];
  /** Every chat.update applied, oldest first (the current content is the last one, or the post). */
  updates: FakeMessageVersion[];
  /** Epoch milliseconds. */
  postedAt: number;
}

/** A chat.postEphemeral: visible to one user only, never stored in the channel. */
export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  message_ts: string;
  at: number;
  /** Control sequences Slack renders in it. */
  sequences: string[];
}

/** The App Home a user currently sees (the last views.publish for that user). */
export interface FakeHomeView {
  user_id: string;
  /** The view object as views.publish answered it (id, hash, blocks, ...). */
  view: Record<string, unknown>;
  blocks: unknown[];
  publishedAt: number;
  /** How many times this user's home was published. */
  publishCount: number;
  /** Control sequences Slack renders in it. */
  sequences: string[];
}

/** A file announced with files.getUploadURLExternal; bytes arrive by POST, then completeUploadExternal shares it. */
export interface FakeUpload {
  file_id: string;
  filename: string;
  /** The length announced to getUploadURLExternal. */
  length: number;
  title?: string;
  /** The uploaded bytes (undefined until the POST to upload_url). */
  bytes?: Buffer;
  completed: boolean;
  channel_id?: string;
  thread_ts?: string;
  initial_comment?: string;
  /** Kept only without an initial_comment: Slack ignores blocks when a comment is given. */
  blocks?: unknown[];
  /** Control sequences Slack renders in the comment (or blocks). */
  sequences: string[];
}

/** Which token a call presented. */
export type TokenKind = 'bot' | 'app' | 'missing' | 'invalid';

/** One recorded Web API call (tokens are never recorded). */
export interface FakeSlackCall {
  method: string;
  /**
   * Arguments as sent, minus `token`: form values are strings, except the JSON-valued ones
   * (blocks, attachments, view, files, metadata), which are recorded parsed.
   */
  params: Record<string, unknown>;
  tokenKind: TokenKind;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  /** HTTP status the fake answered with (200, or an injected 429/5xx). */
  status: number;
  ok: boolean;
  error?: string;
}

/** The workspace identity the fake plays. */
export interface FakeIdentity {
  teamId: string;
  teamDomain: string;
  teamName: string;
  appId: string;
  botUserId: string;
  botId: string;
  botName: string;
  botToken: string;
  appToken: string;
}

/** Everything the fake remembers; mutated by the method handlers, read by tests through FakeSlack. */
export interface SlackState {
  identity: FakeIdentity;
  users: Map<string, FakeUser>;
  channels: Map<string, FakeChannel>;
  usergroups: Map<string, string[]>;
  knownIdsOnly: boolean;
  /** The app's bot scopes (chat:write.public changes where it may post). */
  scopes: Set<string>;
  messages: FakeMessage[];
  ephemerals: FakeEphemeral[];
  homeViews: Map<string, FakeHomeView>;
  /** Open modals by view id, as views.open / views.update left them. */
  modals: Map<string, Record<string, unknown>>;
  uploads: Map<string, FakeUpload>;
  nextTs(): string;
  nextId(prefix: string): string;
}

export interface SlackStateOptions {
  identity: FakeIdentity;
  users: FakeUser[];
  channels: FakeChannel[];
  usergroups: Record<string, string[]>;
  knownIdsOnly: boolean;
  scopes: string[];
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Slack-shaped id: prefix letter plus 10 upper-case alphanumerics. */
export function generateId(prefix: string): string {
  const bytes = randomBytes(10);
  let id = prefix;
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

/** A token of Slack's shape for the given prefix (`xoxb-`, `xapp-`). */
export function generateToken(prefix: 'xoxb' | 'xapp'): string {
  const tail = randomBytes(16).toString('hex');
  return prefix === 'xoxb' ? `xoxb-1000000001-2000000002-${tail}` : `xapp-1-A0FAKE-3000000003-${tail}`;
}

/** Builds empty state holding the given identity and directory. */
export function createSlackState(options: SlackStateOptions): SlackState {
  let tsCounter = 0;
  return {
    identity: options.identity,
    users: new Map(options.users.map((u) => [u.id, u])),
    channels: new Map(options.channels.map((c) => [c.id, c])),
    usergroups: new Map(Object.entries(options.usergroups).map(([id, members]) => [id, [...members]])),
    knownIdsOnly: options.knownIdsOnly,
    scopes: new Set(options.scopes),
    messages: [],
    ephemerals: [],
    homeViews: new Map(),
    modals: new Map(),
    uploads: new Map(),
    nextTs() {
      tsCounter += 1;
      const seconds = Math.floor(Date.now() / 1000);
      return `${seconds}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
    },
    nextId: generateId,
  };
}

const CONVERSATION_ID = /^[CGD][A-Z0-9]{2,}$/;
const USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** Whether a value has the shape of a user id (`U...`/`W...`). */
export function isUserId(value: string): boolean {
  return USER_ID.test(value);
}

/**
 * Finds the user for an id: a declared user, or (unless knownIdsOnly) a made-up member for any well-formed id,
 * so tests need not declare every person that types a command.
 */
export function resolveUser(state: SlackState, id: string | undefined): FakeUser | undefined {
  if (id === undefined) return undefined;
  const known = state.users.get(id);
  if (known) return known;
  if (id === state.identity.botUserId) {
    return { id, name: state.identity.botName, is_bot: true };
  }
  if (state.knownIdsOnly || !isUserId(id)) return undefined;
  const made: FakeUser = { id, name: `user-${id.toLowerCase()}` };
  state.users.set(id, made);
  return made;
}

/**
 * Resolves what chat.postMessage accepts as `channel`: a conversation id, `#name` or `name` of a known channel,
 * or a user id (the app's DM with that user). Unknown ids are accepted when well-formed unless knownIdsOnly.
 */
export function resolveChannel(state: SlackState, value: string | undefined): FakeChannel | undefined {
  if (value === undefined || value === '') return undefined;
  const known = state.channels.get(value);
  if (known) return known;
  if (CONVERSATION_ID.test(value)) {
    if (state.knownIdsOnly) return undefined;
    const made: FakeChannel = { id: value, name: value.toLowerCase(), is_im: value.startsWith('D') };
    state.channels.set(value, made);
    return made;
  }
  if (USER_ID.test(value)) {
    const user = resolveUser(state, value);
    return user ? openDirectMessage(state, user.id) : undefined;
  }
  const name = value.startsWith('#') ? value.slice(1) : value;
  for (const channel of state.channels.values()) {
    if (!channel.is_im && channel.name === name) return channel;
  }
  return undefined;
}

/** The app's DM conversation with a user, created on first use (id `D` + the user id's tail). */
export function openDirectMessage(state: SlackState, userId: string): FakeChannel {
  for (const channel of state.channels.values()) {
    if (channel.is_im && channel.user === userId) return channel;
  }
  const dm: FakeChannel = { id: `D${userId.slice(1)}`, name: userId, is_im: true, user: userId };
  state.channels.set(dm.id, dm);
  return dm;
}

/**
 * Why the bot may not post in `channel` (`not_in_channel`, `channel_not_found`), or undefined when it may.
 * `publicScope`: the method honours chat:write.public (chat.postMessage does; ephemerals and shares do not).
 */
export function postingRefusal(state: SlackState, channel: FakeChannel, publicScope: boolean): string | undefined {
  if (channel.is_member !== false) return undefined;
  if (channel.is_private || channel.is_im) return 'channel_not_found';
  if (publicScope && state.scopes.has('chat:write.public')) return undefined;
  return 'not_in_channel';
}
