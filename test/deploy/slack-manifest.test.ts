import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findSlackMethods, scanSlackMethods, SCOPES_BY_METHOD } from './scan-slack-calls.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Manifest {
  display_information: { name: string; description: string; long_description: string };
  features: {
    app_home: { home_tab_enabled: boolean };
    slash_commands: Array<{ command: string; url?: string }>;
    bot_user: { display_name: string };
  };
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: {
    event_subscriptions: { bot_events: string[] };
    interactivity: { is_enabled: boolean };
    socket_mode_enabled: boolean;
  };
}

const manifest = parse(readFileSync(path.join(root, 'deploy/slack/manifest.yml'), 'utf8')) as Manifest;

describe('findSlackMethods', () => {
  it('finds Web API calls and ignores look-alikes and comments', () => {
    const source = `
      await client.chat.postMessage({ channel, text });
      await deps.client.usergroups.users.list({ usergroup });
      await client.filesUploadV2({ channel_id, file });
      await web.views.publish({ user_id, view });
      await client.apiCall('reactions.add', { name: 'eyes' });
      if (role.users.includes(user)) return;
      const names = report.files.map((f) => f.name);
      // client.chat.delete({ channel, ts }) is never called
      /* client.conversations.info() */
    `;
    expect(findSlackMethods(source)).toEqual(['chat.postMessage', 'files.uploadV2', 'reactions.add', 'usergroups.users.list', 'views.publish']);
  });

  it('counts users.info and Bolt say() as Slack calls', () => {
    expect(findSlackMethods('await client.users.info({ user }); await say("hi");')).toEqual(['chat.postMessage', 'users.info']);
  });
});

describe('deploy/slack/manifest.yml', () => {
  it('asks for exactly the bot scopes of the Web API methods the code calls, plus commands', () => {
    const calls = scanSlackMethods([path.join(root, 'src'), path.join(root, 'jobs')]);
    const unknown = [...calls.keys()].filter((m) => !(m in SCOPES_BY_METHOD));
    expect(unknown, `add these methods and their scopes to SCOPES_BY_METHOD: ${unknown.join(', ')}`).toEqual([]);
    const derived = new Set(['commands', ...[...calls.keys()].flatMap((m) => SCOPES_BY_METHOD[m])]);
    const where = [...calls].map(([m, files]) => `${m} (${files.map((f) => path.relative(root, f)).join(', ')})`).join('; ');
    expect([...manifest.oauth_config.scopes.bot].sort(), `methods called: ${where || 'none found'}`).toEqual([...derived].sort());
  });

  it('keeps the descriptions within the lengths Slack accepts', () => {
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    expect(manifest.display_information.long_description.length).toBeGreaterThanOrEqual(174);
    expect(manifest.display_information.long_description.length).toBeLessThanOrEqual(4000);
  });

  it('asks for no user scopes', () => {
    expect(manifest.oauth_config.scopes.user ?? []).toEqual([]);
  });

  it('declares the /runner command, interactivity, the Home tab, app_home_opened and Socket Mode', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/runner']);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened']);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });
});
