import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSocket, readStore } from '../../../src/clients/nix-store/read-store.js';
import { StoreReadError } from '../../../src/clients/nix-store/store-read-error.js';
import { buildDerivations, createNixTestRoot, startNixDaemon, type NixTestRoot } from '../../setup/nix-store-fixture.js';

describe('readStore', () => {
  let store: NixTestRoot;
  let socket: string;

  beforeAll(async () => {
    store = await createNixTestRoot();
    await buildDerivations(store, [{ name: 'only' }]);
    socket = await startNixDaemon(store);
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('reads the database when it can, and says so', async () => {
    const read = await readStore({ stateDir: store.stateDir, socket });
    expect(read).toMatchObject({ source: 'db', detail: store.dbPath });
    expect(read.fallbackReason).toBeUndefined();
    expect(read.snapshot.paths.length).toBe(3); // busybox, only.drv, only
  });

  it('asks the daemon when the database cannot be read, and says why', async () => {
    const elsewhere = path.join(store.root, 'state-without-db');
    await fs.promises.mkdir(elsewhere, { recursive: true });
    const read = await readStore({ stateDir: elsewhere, socket });
    expect(read).toMatchObject({ source: 'daemon', detail: `unix://${socket}` });
    expect(read.fallbackReason).toMatch(/^Nix database .* does not exist/);
    expect(read.snapshot.paths.length).toBe(3); // busybox, only.drv, only
  });

  it('does not fall back when told to read the database only', async () => {
    const error = await readStore({ stateDir: path.join(store.root, 'nothing'), socket, source: 'db' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StoreReadError);
    expect((error as StoreReadError).reason).toBe('missing');
  });

  it('names both failures in one line when the daemon fails too', async () => {
    const fakeSocket = path.join(store.root, 'dead.sock');
    const net = await import('node:net');
    const server = net.createServer((c) => c.destroy()).listen(fakeSocket);
    try {
      const error = await readStore({ stateDir: path.join(store.root, 'nothing'), socket: fakeSocket }).catch((err: unknown) => err);
      expect((error as Error).message).toMatch(
        /^Nix database .* does not exist; .*; asking the daemon instead failed too: the nix daemon at .* did not answer: /,
      );
      expect((error as Error).message).not.toContain('\n');
    } finally {
      server.close();
    }
  });
});

describe('isSocket', () => {
  it('tells a listening socket from a file and from nothing', async () => {
    const root = await createNixTestRoot();
    try {
      const socket = await startNixDaemon(root);
      expect(isSocket(socket)).toBe(true);
      expect(isSocket(root.dbPath)).toBe(false);
      expect(isSocket(path.join(root.root, 'absent'))).toBe(false);
    } finally {
      await root.cleanup();
    }
  });
});
