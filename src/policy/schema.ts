import { z } from 'zod';
import { VERBS } from '../commands/verbs.js';

const id = z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/, 'expected a Slack id like U012AB3CD (or cli:<login>)');
const duration = z.string().regex(/^\d{1,6}(s|m|h|d|w)$/, 'expected a duration like 30m, 24h or 7d');
const roleName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected a lower-case role name');
const verbNames = VERBS.map((v) => v.verb) as [string, ...string[]];

export const roleSchema = z
  .object({
    /** Slack user ids (U...), or `cli:<login>` for terminal users. */
    users: z.array(id).default([]),
    /** Slack user-group ids (S...); members are looked up with usergroups.users.list. */
    groups: z.array(id).default([]),
  })
  .strict();

export const verbRuleSchema = z
  .object({
    /** Roles that may run the verb directly. */
    run: z.array(roleName).default([]),
    /** Roles that may ask for it; the request then needs an approval. */
    request: z.array(roleName).default([]),
    /** Roles that may approve a request (never the requester). */
    approve: z.array(roleName).default([]),
    /** Channels where the verb is allowed (Slack only); empty means any. */
    channels: z.array(id).default([]),
  })
  .strict();

export const personSchema = z
  .object({
    /** Every identity of this person: Slack user ids and `cli:<login>`s. Requester and approver are compared as people. */
    identities: z.array(id).min(1),
    /** Ed25519 public keys (`ed25519:...`, from "runnerops keygen --cli") the person signs terminal commands with. */
    cliKeys: z
      .array(z.string().regex(/^ed25519:[A-Za-z0-9+/]{43}=$/, 'expected ed25519:<44 base64 characters> as printed by "runnerops keygen --cli"'))
      .default([]),
  })
  .strict();

export const scheduleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected a lower-case name like nightly-prune'),
    cron: z.string().min(9).max(100),
    timezone: z.string().default('UTC'),
    /** The command to run, as typed after /runner, e.g. "prune all --dry-run". */
    command: z.string().min(1).max(500),
    channel: id,
    enabled: z.boolean().default(true),
  })
  .strict();

export const policySchema = z
  .object({
    roles: z.record(roleName, roleSchema).default({}),
    /** People and their identities (Slack ids, cli: logins) and terminal keys. */
    people: z
      .record(z.string().regex(/^[a-z][a-z0-9._-]{0,31}$/, 'expected a lower-case person name'), personSchema)
      .default({})
      .superRefine((people, ctx) => {
        const seen = new Map<string, string>();
        for (const [name, person] of Object.entries(people)) {
          for (const identity of person.identities) {
            const other = seen.get(identity);
            if (other) ctx.addIssue({ code: 'custom', path: [name, 'identities'], message: `${identity} is listed for both ${other} and ${name}` });
            seen.set(identity, name);
          }
        }
      }),
    verbs: z.record(z.enum(verbNames), verbRuleSchema).default({}),
    channels: z
      .object({
        /** Where approval requests are posted. @defaultValue the channel the request came from */
        approvals: id.optional(),
        /** Where scheduled reports and watch notices go. */
        reports: id.optional(),
        /** Where security notices (refused jobs, forged events, changed host keys) go. @defaultValue `reports` */
        security: id.optional(),
      })
      .strict()
      .default({}),
    approvals: z
      .object({ expiry: duration.default('30m') })
      .strict()
      .default({}),
    prune: z
      .object({
        /** Default --until. */
        until: duration.default('24h'),
        /** Default --images (`lru` needs --target-free, so it is no default). */
        images: z.enum(['dangling', 'unused']).default('dangling'),
        /** Also prune named (not only anonymous) volumes when --volumes is given. */
        namedVolumes: z.boolean().default(false),
        /** Objects with this label are never pruned. */
        protectLabel: z
          .string()
          .regex(/^[A-Za-z0-9._/-]+(=[A-Za-z0-9._/-]*)?$/)
          .default('runnerops.keep=true'),
      })
      .strict()
      .default({}),
    schedules: z.array(scheduleSchema).default([]),
    watch: z
      .object({
        enabled: z.boolean().default(false),
        /** Free space (percent) below which a host prunes itself. */
        minFreePercent: z.number().min(1).max(90).default(10),
        /** Free space (percent) the self-prune aims for. */
        targetFreePercent: z.number().min(1).max(95).default(20),
        interval: duration.default('5m'),
        /** Collect Nix garbage (gc) when the store's filesystem stays below the threshold. */
        gc: z.boolean().default(false),
      })
      .strict()
      .default({}),
    tokenExpiry: z
      .object({ warnWithin: duration.default('7d'), cron: z.string().default('0 9 * * *'), timezone: z.string().default('UTC') })
      .strict()
      .default({}),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type VerbRule = z.infer<typeof verbRuleSchema>;
