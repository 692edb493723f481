import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { UserError } from '../errors.js';
import { policySchema, type Policy } from './schema.js';

/** The policy used when RUNNEROPS_POLICY is unset: read-only verbs for everyone, mutating verbs for nobody. */
export const EMPTY_POLICY: Policy = policySchema.parse({});

/** Explains the first problem in a policy as "<file>: <path>: <what is wrong>". */
export function explainPolicyError(source: string, err: ZodError): string {
  const issue = err.issues[0];
  if (issue === undefined) return `${source}: not a valid policy`;
  const where = issue.path.join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return `${source}: unknown key "${issue.keys.join('", "')}" in ${where}`;
  }
  if (issue.code === 'invalid_enum_value') {
    return `${source}: ${where}: "${String(issue.received)}" is not allowed; expected one of ${issue.options.join(', ')}`;
  }
  return `${source}: ${where}: ${issue.message}`;
}

export function parsePolicy(text: string, source: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new UserError(`${source}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const result = policySchema.safeParse(raw);
  if (!result.success) throw new UserError(explainPolicyError(source, result.error));
  checkRoleReferences(result.data, source);
  return result.data;
}

function checkRoleReferences(policy: Policy, source: string): void {
  for (const [verb, rule] of Object.entries(policy.verbs)) {
    for (const kind of ['run', 'request', 'approve'] as const) {
      for (const role of rule[kind]) {
        if (!policy.roles[role]) {
          throw new UserError(`${source}: verbs.${verb}.${kind} names role "${role}", which roles does not define`);
        }
      }
    }
  }
}

/** Reads and validates the policy file; no path means the empty policy. */
export async function loadPolicy(path: string | undefined): Promise<Policy> {
  if (!path) return EMPTY_POLICY;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`RUNNEROPS_POLICY=${path}: ${code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`}`);
  }
  return parsePolicy(text, path);
}
