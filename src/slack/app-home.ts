import type { KnownBlock } from '@slack/types';
import type { BotCore } from '../bot/bot-core.js';
import { mayApprove } from '../policy/decide.js';
import { formatAge } from '../present/format.js';
import { runnerCountsText } from '../present/runners.js';
import { readRunnersSummary } from '../reports/runners-summary.js';
import { parseDuration } from '../commands/duration.js';
import { readCommand, readRows, recentCommandIds } from '../queue/command-record.js';
import { commandCard } from '../present/command-card.js';
import { listTrustedHosts } from '../queue/bot-trust.js';
import { approvalBlocks } from '../present/approval-blocks.js';
import { context, header, LIMITS, section, sections } from '../present/blocks.js';
import { hostsHomeBlocks } from '../present/hosts-home-blocks.js';
import { inlineCode, md, type Mrkdwn } from '../present/mrkdwn.js';

/** What the Home tab reads. */
export type HomeDeps = Pick<BotCore, 'redis' | 'prefix' | 'approvals' | 'policy' | 'members' | 'trust'>;

/** The Home tab: hosts, runners by token expiry (soonest first), recent jobs, approvals the viewer may act on. */
export async function homeBlocks(core: HomeDeps, viewer: string, now = Date.now()): Promise<KnownBlock[]> {
  const hosts = await listTrustedHosts(core.redis, core.prefix, core.trust, now);
  const blocks: KnownBlock[] = [header('runnerops fleet')];
  blocks.push(...hostsHomeBlocks(hosts, { now, tokenWarnSeconds: parseDuration(core.policy.tokenExpiry.warnWithin, 'tokenExpiry.warnWithin') }));

  const fleet = await readRunnersSummary(core.redis, core.prefix);
  blocks.push(
    context(
      fleet
        ? md`Runners in GitLab (${formatAge((now - fleet.at) / 1000)}): ${runnerCountsText(fleet)}${fleet.mismatches > 0 ? md` :warning:` : md``}; \`/runner runners all\` for each one`
        : md`Runners in GitLab: not read yet; \`/runner runners all\` reads them`,
    ),
  );

  const runners = hosts.flatMap((h) => (h.runners ?? []).map((r) => ({ host: h.name, ...r })));
  runners.sort((a, b) => (a.tokenExpiresAt ? Date.parse(a.tokenExpiresAt) : Infinity) - (b.tokenExpiresAt ? Date.parse(b.tokenExpiresAt) : Infinity));
  if (runners.length > 0) {
    blocks.push(header('Runner tokens'));
    const lines = runners.map((r) => {
      const at = r.tokenExpiresAt ? Date.parse(r.tokenExpiresAt) : undefined;
      const state = at === undefined ? md`does not expire` : at <= now ? md`*EXPIRED*` : md`expires ${new Date(at).toISOString().slice(0, 10)}`;
      // Runner names come from the host's config.toml: text, never markup.
      return md`${r.host} / ${r.name}${r.id ? ` #${r.id}` : ''}: ${state}`;
    });
    blocks.push(...sections(lines, 20));
  }

  const ids = await recentCommandIds(core.redis, core.prefix, 10);
  const recent: Mrkdwn[] = [];
  for (const id of ids) {
    const command = await readCommand(core.redis, core.prefix, id);
    if (command) recent.push(md`${inlineCode(command.id)} ${command.text}: ${commandCard(command, await readRows(core.redis, core.prefix, id), now).footer}`);
  }
  blocks.push(header('Recent jobs'));
  blocks.push(...(recent.length > 0 ? sections(recent, 5) : [section(md`No jobs yet.`)]));

  const pending = await core.approvals.pending();
  const actionable = [];
  for (const approval of pending) {
    if ((await mayApprove(core.policy, approval.request.verb, viewer, approval.requester.user, core.members)).ok) actionable.push(approval);
  }
  blocks.push(header('Waiting for your approval'));
  if (actionable.length === 0) blocks.push(context(md`Nothing waits for you.`));
  // Keep one block free for the notice a refused click puts on top.
  for (const approval of actionable) {
    const more = approvalBlocks(approval).blocks;
    if (blocks.length + more.length > LIMITS.homeBlocks - 1) break;
    blocks.push(...more);
  }
  return blocks;
}
