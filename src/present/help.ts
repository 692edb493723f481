import { VERBS, findVerb, usage } from '../commands/verbs.js';

/** `help`: every verb with a one-line description and an example; `help <verb>`: its usage. */
export function helpText(topic?: string, prefix = '/runner'): string {
  if (topic) {
    const spec = findVerb(topic)!;
    return [`${prefix} ${usage(spec)}`, spec.description, `example: ${prefix} ${spec.example}`].join('\n');
  }
  const lines = VERBS.map((spec) => `${prefix} ${spec.verb.padEnd(15)} ${spec.description}  (e.g. ${prefix} ${spec.example})`);
  return [`runnerops: ${prefix} <verb> ...`, ...lines].join('\n');
}
