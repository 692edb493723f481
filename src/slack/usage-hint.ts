import { VERBS } from '../commands/verbs.js';

/** Slack shows a slash command's usage hint as typed; its manifest field takes at most 1,000 characters. */
export const MAX_USAGE_HINT = 1000;

/** The `/runner` usage hint of deploy/slack/manifest.yml: every verb with its arguments, in help order. */
export function usageHint(): string {
  return VERBS.map((spec) => [spec.verb, ...spec.args].join(' ')).join(' | ');
}
