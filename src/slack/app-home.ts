import type { KnownBlock } from '@slack/types';
import type { BotCore } from '../bot/bot-core.js';
import { mayApprove } from '../policy/decide.js';
import { formatAge, formatBytes } from '../present/format.js';
import { trustLines } from '../present/hosts.js';
import { readCommand, readRows, recentCommandIds } from '../queue/command-record.js';
import { commandCard } from '../present/command-card.js';
import { listTrustedHosts } from '../queue/bot-trust.js';
import { approvalBlocks } from './approval-blocks.js';
import { context, escapeMrkdwn, LIMITS, section } from './blocks.js';

/** The Home tab: hosts, runners by token expiry (soonest first), recent jobs, approvals the viewer may act on. */
export async function homeBlocks(core: BotCore, viewer: string, now = Date.now()): Promise<KnownBlock[]> {
  const hosts = await listTrustedHosts(core.redis, core.prefix, core.trust, now);
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'runnerops fleet' } }];
  const hostLines = hosts.map((h) => {
    const disk = h.disk?.dockerFreeBytes !== undefined ? `, docker free ${formatBytes(h.disk.dockerFreeBytes)}` : '';
    const nix = h.disk?.nixFreeBytes !== undefined ? `, nix free ${formatBytes(h.disk.nixFreeBytes)}` : '';
    const store = h.store ? `, store ${formatBytes(h.store.totalNarBytes)} (${formatBytes(h.store.garbageBytes)} garbage)` : '';
    const daemon = h.daemon ? `, nix-daemon ${h.daemon.healthy ? 'healthy' : '*unhealthy*'} ${formatAge((now - h.daemon.at) / 1000)}` : '';
    return `${h.alive ? ':large_green_circle:' : ':red_circle:'} *${escapeMrkdwn(h.name)}* heartbeat ${formatAge(h.ageSeconds)}${h.alive ? '' : ' (expired)'}${disk}${nix}${store}${daemon}`;
  });
  blocks.push(section(hostLines.length > 0 ? hostLines.join('\n') : 'No hosts registered yet: start `runnerops worker` on a runner host.'));
  const untrusted = trustLines(hosts);
  if (untrusted.length > 0) blocks.push(section(untrusted.map((line) => `:warning: ${escapeMrkdwn(line)}`).join('\n')));

  const runners = hosts.flatMap((h) => (h.runners ?? []).map((r) => ({ host: h.name, ...r })));
  runners.sort((a, b) => (a.tokenExpiresAt ? Date.parse(a.tokenExpiresAt) : Infinity) - (b.tokenExpiresAt ? Date.parse(b.tokenExpiresAt) : Infinity));
  if (runners.length > 0) {
    blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Runner tokens' } });
    const lines = runners.map((r) => {
      const at = r.tokenExpiresAt ? Date.parse(r.tokenExpiresAt) : undefined;
      const state = at === undefined ? 'does not expire' : at <= now ? '*EXPIRED*' : `expires ${new Date(at).toISOString().slice(0, 10)}`;
      return `${escapeMrkdwn(r.host)} / ${escapeMrkdwn(r.name)}${r.id ? ` #${r.id}` : ''}: ${state}`;
    });
    blocks.push(section(lines.join('\n')));
  }

  const ids = await recentCommandIds(core.redis, core.prefix, 10);
  const recent: string[] = [];
  for (const id of ids) {
    const command = await readCommand(core.redis, core.prefix, id);
    if (command) recent.push(`\`${command.id}\` ${escapeMrkdwn(command.text)}: ${escapeMrkdwn(commandCard(command, await readRows(core.redis, core.prefix, id), now).footer)}`);
  }
  blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Recent jobs' } });
  blocks.push(section(recent.length > 0 ? recent.join('\n') : 'No jobs yet.'));

  const pending = await core.approvals.pending();
  const actionable = [];
  for (const approval of pending) {
    if ((await mayApprove(core.policy, approval.request.verb, viewer, approval.requester.user, core.members)).ok) actionable.push(approval);
  }
  blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Waiting for your approval' } });
  if (actionable.length === 0) blocks.push(context('Nothing waits for you.'));
  for (const approval of actionable) {
    if (blocks.length + 3 > LIMITS.homeBlocks) break;
    blocks.push(...approvalBlocks(approval).blocks);
  }
  return blocks.slice(0, LIMITS.homeBlocks);
}
