import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The bot scopes each Slack Web API method needs (from each method's page on api.slack.com).
 * `[]` means no scope: views.publish (App Home) and views.open need none. A method the code calls
 * that is missing here fails the manifest test: add it with its scopes.
 */
export const SCOPES_BY_METHOD: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.scheduleMessage': ['chat:write'],
  'chat.getPermalink': [],
  'views.publish': [],
  'views.open': [],
  'views.update': [],
  'views.push': [],
  'usergroups.users.list': ['usergroups:read'],
  'usergroups.list': ['usergroups:read'],
  'files.uploadV2': ['files:write'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  'files.info': ['files:read'],
  'users.info': ['users:read'],
  'users.list': ['users:read'],
  'users.lookupByEmail': ['users:read', 'users:read.email'],
  'conversations.info': ['channels:read', 'groups:read'],
  'conversations.members': ['channels:read', 'groups:read'],
  'conversations.join': ['channels:join'],
  'conversations.open': ['im:write'],
  'reactions.add': ['reactions:write'],
  'reactions.remove': ['reactions:write'],
};

/** Families whose names are Slack's alone: any call on them is a Web API call. */
const SLACK_ONLY_FAMILIES = new Set(['chat', 'views', 'usergroups', 'conversations', 'reactions']);

const CALL = /\.(chat|views|usergroups|files|users|conversations|reactions)\.([A-Za-z.]+)\(/g;
const UPLOAD_V2 = /\bfilesUploadV2\s*\(/g;
const API_CALL = /\bapiCall\(\s*['"`]([a-z]+\.[A-Za-z.]+)['"`]/g;
/** Bolt's `say()` posts with chat.postMessage. */
const SAY = /\bsay\s*\(/g;

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/**
 * Slack Web API methods called in one TypeScript source. `users` and `files` are ordinary words
 * (`role.users.includes(...)`), so on those families only methods Slack has are counted.
 */
export function findSlackMethods(source: string): string[] {
  const code = stripComments(source);
  const found = new Set<string>();
  for (const [, family = '', rest = ''] of code.matchAll(CALL)) {
    const method = `${family}.${rest}`;
    if (SLACK_ONLY_FAMILIES.has(family) || method in SCOPES_BY_METHOD) found.add(method);
  }
  if (UPLOAD_V2.test(code)) found.add('files.uploadV2');
  UPLOAD_V2.lastIndex = 0;
  for (const [, method = ''] of code.matchAll(API_CALL)) found.add(method);
  if (SAY.test(code)) found.add('chat.postMessage');
  SAY.lastIndex = 0;
  return [...found].sort();
}

function listTypeScript(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Every Slack method called under the given directories, with the files that call it. */
export function scanSlackMethods(dirs: string[]): Map<string, string[]> {
  const calls = new Map<string, string[]>();
  for (const file of dirs.flatMap(listTypeScript)) {
    for (const method of findSlackMethods(readFileSync(file, 'utf8'))) {
      calls.set(method, [...(calls.get(method) ?? []), file]);
    }
  }
  return calls;
}
