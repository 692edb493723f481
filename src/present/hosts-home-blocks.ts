import type { KnownBlock } from '@slack/types';
import { formatAge, formatBytes } from './format.js';
import { classifyHosts, formatNumber, needsAttention, STATE_LABELS, summaryLine, type HostStateOptions } from './host-states.js';
import { trustLines } from './hosts.js';
import type { HostStatus } from '../queue/host-registry.js';
import { context, section, sections } from './blocks.js';
import { md, type Mrkdwn } from './mrkdwn.js';

/** Up to this many hosts, the Home tab lists every one of them, as it always did. */
export const HOME_SMALL_FLEET = 20;
/** Hosts that need attention listed on the Home tab of a larger fleet. */
export const HOME_ATTENTION_SHOWN = 20;

function hostLine(h: HostStatus, now: number): Mrkdwn {
  const disk = h.disk?.dockerFreeBytes !== undefined ? `, docker free ${formatBytes(h.disk.dockerFreeBytes)}` : '';
  const nix = h.disk?.nixFreeBytes !== undefined ? `, nix free ${formatBytes(h.disk.nixFreeBytes)}` : '';
  const store = h.store ? `, store ${formatBytes(h.store.totalNarBytes)} (${formatBytes(h.store.garbageBytes)} garbage)` : '';
  const daemon = h.daemon ? md`, nix-daemon ${h.daemon.healthy ? md`healthy` : md`*unhealthy*`} ${formatAge((now - h.daemon.at) / 1000)}` : md``;
  return md`${h.alive ? md`:large_green_circle:` : md`:red_circle:`} *${h.name}* heartbeat ${formatAge(h.ageSeconds)}${h.alive ? '' : ' (expired)'}${disk}${nix}${store}${daemon}`;
}

/**
 * The hosts part of the Home tab. A small fleet: every host, then the ones nothing runs on until a
 * person acts. A larger one: its counts by state, the HOME_ATTENTION_SHOWN hosts that need attention
 * most (with what is wrong), and a line saying how to see the rest with `/runner hosts`.
 */
export function hostsHomeBlocks(hosts: HostStatus[], options: HostStateOptions = {}): KnownBlock[] {
  const now = options.now ?? Date.now();
  if (hosts.length === 0) return [section(md`No hosts registered yet: start \`runnerops worker\` on a runner host.`)];
  if (hosts.length <= HOME_SMALL_FLEET) {
    const blocks = sections(
      hosts.map((h) => hostLine(h, now)),
      20,
    );
    const untrusted = trustLines(hosts);
    if (untrusted.length > 0)
      blocks.push(
        ...sections(
          untrusted.map((line) => md`:warning: ${line}`),
          5,
        ),
      );
    return blocks;
  }
  const classified = classifyHosts(hosts, { ...options, now });
  const attention = classified.filter(needsAttention);
  const shown = attention.slice(0, HOME_ATTENTION_SHOWN);
  const blocks: KnownBlock[] = [section(md`*${summaryLine(classified)}*`)];
  if (shown.length > 0) {
    blocks.push(
      ...sections(
        shown.map(({ host, states }) => md`${hostLine(host, now)} — ${states.map((s) => STATE_LABELS[s]).join(', ')}`),
        4,
      ),
    );
    const untrusted = trustLines(shown.map((h) => h.host));
    if (untrusted.length > 0)
      blocks.push(
        ...sections(
          untrusted.map((line) => md`:warning: ${line}`),
          3,
        ),
      );
  }
  const rest = attention.length - shown.length;
  const more = rest > 0 ? `${formatNumber(rest)} more need attention (/runner hosts attention); ` : shown.length === 0 ? 'Nothing needs attention; ' : '';
  // Plain text, escaped: "<state|prefix>" must not become a link.
  blocks.push(context(md`${`${more}every host: /runner hosts all, or /runner hosts <state|prefix>`}`));
  return blocks;
}
