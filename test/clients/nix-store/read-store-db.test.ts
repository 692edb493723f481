import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPackedPairs, readStoreDb } from '../../../src/clients/nix-store/read-store-db.js';
import { EdgeList } from '../../../src/clients/nix-store/store-snapshot.js';
import { StoreReadError } from '../../../src/clients/nix-store/store-read-error.js';
import { buildDerivations, createNixTestRoot, nixPathInfoAll, type BuiltDerivation, type NixTestRoot } from '../../setup/nix-store-fixture.js';

describe('readStoreDb', () => {
  let store: NixTestRoot;
  let built: Record<string, BuiltDerivation>;

  beforeAll(async () => {
    store = await createNixTestRoot();
    ({ built } = await buildDerivations(store, [{ name: 'base' }, { name: 'top', refs: ['base'] }]));
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('reads every valid path with its size and references, as nix path-info reports them', async () => {
    const snapshot = readStoreDb(store.dbPath);
    const infos = await nixPathInfoAll(store);
    expect(snapshot.storeDir).toBe('/nix/store');
    expect([...snapshot.paths].sort()).toEqual(infos.map((i) => i.path).sort());
    for (const info of infos) {
      const i = snapshot.paths.indexOf(info.path);
      expect(snapshot.narSize[i]).toBe(info.narSize);
      const refs = [...snapshot.refTargets.subarray(snapshot.refStart[i], snapshot.refStart[i + 1])].map((r) => snapshot.paths[r]);
      expect(refs.sort()).toEqual([...info.references].sort());
    }
  });

  it('links each output to the derivation that built it and each derivation to its outputs', () => {
    const snapshot = readStoreDb(store.dbPath);
    const out = snapshot.paths.indexOf(built.top!.out);
    const drv = snapshot.paths.indexOf(built.top!.drv);
    expect(snapshot.builtFrom[out]).toBe(drv);
    expect([...snapshot.outputTargets.subarray(snapshot.outputStart[drv], snapshot.outputStart[drv + 1])]).toEqual([out]);
  });

  it('never writes: the database file is unchanged after reading', () => {
    const before = fs.readFileSync(store.dbPath);
    const mtime = fs.statSync(store.dbPath).mtimeMs;
    readStoreDb(store.dbPath);
    expect(fs.readFileSync(store.dbPath).equals(before)).toBe(true);
    expect(fs.statSync(store.dbPath).mtimeMs).toBe(mtime);
  });

  it('says in one line that the database is missing', () => {
    const missing = path.join(store.root, 'nope/db.sqlite');
    expect(() => readStoreDb(missing)).toThrowError(
      new StoreReadError(`Nix database ${missing} does not exist; check NIX_STATE_DIR (the directory holding db/db.sqlite)`, 'missing'),
    );
  });

  it('says in one line that the database is corrupt', async () => {
    const corrupt = path.join(store.root, 'corrupt.sqlite');
    await fs.promises.writeFile(corrupt, Buffer.alloc(8192, 0x5a));
    const error = (() => {
      try {
        readStoreDb(corrupt);
      } catch (err) {
        return err as StoreReadError;
      }
      return undefined;
    })();
    expect(error?.reason).toBe('corrupt');
    expect(error?.message).toMatch(/^the Nix database .*corrupt\.sqlite is corrupt or not a Nix database \(file is not a database\); check NIX_STATE_DIR/);
    expect(error?.message).not.toContain('\n');
  });

  it('says in one line that a SQLite file is not a Nix database', () => {
    const other = path.join(store.root, 'other.sqlite');
    new Database(other).exec('CREATE TABLE t (x)').close();
    expect(() => readStoreDb(other)).toThrowError(/is corrupt or not a Nix database \(no such table: ValidPaths\)/);
  });

  it('says in one line that the database path is a directory', () => {
    expect(() => readStoreDb(store.root)).toThrowError(/^Nix database .* is not a file; check NIX_STATE_DIR$/);
  });
});

describe('addPackedPairs', () => {
  it('splits each number into a referrer and a reference of the given digits, skipping ids that are not valid', () => {
    const idToIndex = Int32Array.from([-1, 0, 1, -1, 2]);
    const edges = new EdgeList();
    addPackedPairs(Buffer.from('102 401 404 103 10'), 2, idToIndex, edges);
    expect([...edges.from.subarray(0, edges.length)]).toEqual([0, 2, 2]);
    expect([...edges.to.subarray(0, edges.length)]).toEqual([1, 0, 2]);
  });
});
