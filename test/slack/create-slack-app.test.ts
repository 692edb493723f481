import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardTimestamps } from '../../src/slack/create-slack-app.js';

const NOW_MS = 1_700_000_000_000;
const now = () => NOW_MS;
let server: http.Server;
let url: string;
const reached: string[] = [];

beforeAll(async () => {
  server = http.createServer(
    guardTimestamps((req, res) => {
      reached.push(`${req.method} ${String(req.headers['x-slack-request-timestamp'])}`);
      req.resume();
      res.writeHead(200).end('ok');
    }, now),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

async function post(timestamp: string | undefined): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (timestamp !== undefined) headers['x-slack-request-timestamp'] = timestamp;
  return (await fetch(url, { method: 'POST', headers, body: 'command=%2Frunner' })).status;
}

const seconds = (offset: number) => String(Math.floor(NOW_MS / 1000) + offset);

describe('guardTimestamps', () => {
  it('hands a request with a current timestamp to the receiver', async () => {
    expect(await post(seconds(-10))).toBe(200);
    expect(reached).toContain(`POST ${seconds(-10)}`);
  });

  it('refuses a timestamp more than five minutes in the past or in the future before the receiver sees it', async () => {
    reached.length = 0;
    expect(await post(seconds(-301))).toBe(401);
    expect(await post(seconds(301))).toBe(401);
    expect(reached).toEqual([]);
  });

  it('accepts a timestamp at the edge of the window on either side', async () => {
    expect(await post(seconds(-300))).toBe(200);
    expect(await post(seconds(300))).toBe(200);
  });

  it('refuses a request without a timestamp or with one that is not a number', async () => {
    reached.length = 0;
    expect(await post(undefined)).toBe(401);
    expect(await post('yesterday')).toBe(401);
    expect(reached).toEqual([]);
  });

  it('lets requests other than POST through (the receiver answers them)', async () => {
    reached.length = 0;
    expect((await fetch(url)).status).toBe(200);
    expect(reached).toEqual(['GET undefined']);
  });
});
