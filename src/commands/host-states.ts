/** The state words of `hosts <state>`: the grammar's vocabulary; src/present/host-states.ts tells which apply to a host. */

/**
 * What may need a person on a host, most urgent first: nothing runs on a host whose key changed, whose
 * entry is unsigned or that waits for enrolment; a silent host answers nothing; then the nix-daemon,
 * the disk, and runner tokens that expire soon (or did).
 */
export const ATTENTION_STATES = ['key-changed', 'unsigned', 'pending', 'silent', 'daemon', 'disk', 'expiring'] as const;

/** A host's state as `hosts` counts and filters it; `healthy` when nothing needs attention. */
export type HostState = (typeof ATTENTION_STATES)[number] | 'healthy';

/** Every state word `hosts <state>` takes, in the order summaries list them. */
export const HOST_STATES: readonly HostState[] = ['healthy', ...ATTENTION_STATES];
