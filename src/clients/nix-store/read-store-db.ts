import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EdgeList, assembleSnapshot, type StoreSnapshot } from './store-snapshot.js';
import { StoreReadError, describeErrno } from './store-read-error.js';
import { indexStorePaths } from './store-path-index.js';

export interface ReadStoreDbOptions {
  /** How long to wait while SQLite reports the database busy (e.g. WAL recovery). @defaultValue 5000 ms */
  busyTimeoutMs?: number;
}

/**
 * Reads every valid path, reference and derivation output of a Nix database in one short read
 * transaction, read-only (never `immutable`: that is unsafe on a live WAL database), and never takes
 * Nix's GC lock. Throws `StoreReadError` with one line saying what was wrong.
 */
export function readStoreDb(dbPath: string, options: ReadStoreDbOptions = {}): StoreSnapshot {
  checkReadable(dbPath);
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (err) {
    throw classifySqliteError(err, dbPath);
  }
  try {
    // A deferred transaction: one snapshot for all reads, held only while we copy rows out.
    return db.transaction(() => loadSnapshot(db, dbPath))();
  } catch (err) {
    if (err instanceof StoreReadError) throw err;
    throw classifySqliteError(err, dbPath);
  } finally {
    db.close();
  }
}

function checkReadable(dbPath: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dbPath);
    fs.accessSync(dbPath, fs.constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new StoreReadError(`Nix database ${dbPath} does not exist; check NIX_STATE_DIR (the directory holding db/db.sqlite)`, 'missing');
    }
    throw new StoreReadError(`cannot read the Nix database ${dbPath}: ${describeErrno(err)}; run the worker as a user that may read it`, 'unreadable');
  }
  if (!stat.isFile()) {
    throw new StoreReadError(`Nix database ${dbPath} is not a file; check NIX_STATE_DIR`, 'corrupt');
  }
}

function classifySqliteError(err: unknown, dbPath: string): StoreReadError {
  const code = String((err as { code?: unknown }).code ?? '');
  const detail = err instanceof Error ? err.message.split('\n', 1)[0] : String(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreReadError(`the Nix database ${dbPath} stayed busy (${detail}); try again in a minute`, 'busy');
  }
  if ((code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN')) && !fs.existsSync(`${dbPath}-shm`)) {
    // WAL mode: a reader needs the -shm file; only a user who may write the directory can create it.
    return new StoreReadError(
      `cannot open the Nix database ${dbPath} read-only: no Nix process has it open, so its -wal and -shm files are missing and this user may not create them in ${path.dirname(dbPath)}; run the worker as root or let it ask the nix daemon`,
      'unreadable',
    );
  }
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH') || code.startsWith('SQLITE_READONLY')) {
    return new StoreReadError(
      `cannot open the Nix database ${dbPath} read-only (${detail}); the worker needs read access to the db directory's db.sqlite, -wal and -shm files`,
      'unreadable',
    );
  }
  if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_ERROR')) {
    return new StoreReadError(
      `the Nix database ${dbPath} is corrupt or not a Nix database (${detail}); check NIX_STATE_DIR and run nix-store --verify on the host`,
      'corrupt',
    );
  }
  return new StoreReadError(`cannot read the Nix database ${dbPath} (${detail})`, 'unreadable');
}

/** Rows per query: large enough that SQLite does the work, small enough to bound each string. */
const CHUNK_ROWS = 1 << 18;

/** Ids up to this many digits travel two to a number (SQLite's integers hold 18 digits). */
const MAX_PACKED_DIGITS = 9;

/**
 * Copies the tables out with one `group_concat` per chunk of rows: crossing from SQLite to JavaScript
 * once per chunk instead of once per row is what makes ten million references cheap. Only integers
 * and the path names cross; derivation outputs are matched to their paths here, through an index of
 * the names, instead of by SQLite joining on path text.
 */
function loadSnapshot(db: Database.Database, dbPath: string): StoreSnapshot {
  const [count, maxId] = db.prepare('SELECT count(*), coalesce(max(id), 0) FROM ValidPaths').raw().get() as [number, number];
  const idToIndex = new Int32Array(maxId + 1).fill(-1);
  const paths: string[] = [];
  // Where each path's deriver is in the text it came in (no string of its own: a million of them would
  // be garbage the moment the outputs are matched).
  const texts: string[] = [];
  const deriverText = new Int32Array(count);
  const deriverStart = new Int32Array(count);
  const deriverLength = new Int32Array(count);
  const narSize = new Float64Array(count);

  const pathChunk = db
    .prepare(
      "SELECT group_concat(id || ' ' || coalesce(narSize, 0) || ' ' || path || ' ' || coalesce(deriver, ''), char(10)) FROM ValidPaths WHERE id > ? AND id <= ?",
    )
    .pluck();
  for (let low = 0; low < maxId; low += CHUNK_ROWS) {
    const text = pathChunk.get(low, low + CHUNK_ROWS) as string | null;
    if (text === null) continue;
    const scan = new Scanner(text);
    texts.push(text);
    while (!scan.done() && paths.length < count) {
      const i = paths.length;
      idToIndex[scan.int()] = i;
      narSize[i] = scan.int();
      paths.push(scan.word());
      deriverText[i] = texts.length - 1;
      deriverStart[i] = scan.position();
      deriverLength[i] = scan.skip('\n');
    }
  }
  const n = paths.length;
  const storeDir = paths[0] !== undefined ? path.posix.dirname(paths[0]) : '/nix/store';
  if (n > 0 && (!storeDir.startsWith('/') || storeDir === '/')) {
    throw new StoreReadError(`the Nix database ${dbPath} holds "${paths[0]}", which is not a store path`, 'corrupt');
  }

  // max(rowid) is one index lookup where count(*) reads the whole table (a tenth of the read on a
  // million paths). It bounds the count; rows deleted by earlier GCs can leave it far above, so the
  // list starts at most at 32 references a path and grows past that.
  const maxRef = db.prepare('SELECT coalesce(max(rowid), 0) FROM Refs').pluck().get() as number;
  const refs = new EdgeList(Math.min(maxRef, 32 * n + 1024));
  // Each reference as one decimal number: the referrer's digits, then the reference's, zero-padded
  // to the digits of the largest id. One number a row is cheaper for SQLite to print, and bytes
  // (a blob) are cheaper to read here than a string of the same digits. The largest id counts Refs
  // too (a reference to a path that is gone would spill into the referrer); each max is one index
  // lookup as its own subquery, where one aggregate of both would scan the table.
  const [maxReferrer, maxReference] = db
    .prepare('SELECT coalesce((SELECT max(referrer) FROM Refs), 0), coalesce((SELECT max(reference) FROM Refs), 0)')
    .raw()
    .get() as [number, number];
  const digits = String(Math.max(maxId, maxReferrer, maxReference)).length;
  const packed = digits <= MAX_PACKED_DIGITS;
  const refChunk = db
    .prepare(
      packed
        ? `SELECT CAST(group_concat(referrer * ${10 ** digits} + reference, ' ') AS BLOB) FROM Refs WHERE rowid > ? AND rowid <= ?`
        : "SELECT group_concat(referrer || ' ' || reference, ' ') FROM Refs WHERE rowid > ? AND rowid <= ?",
    )
    .pluck();
  for (let low = 0; low < maxRef; low += CHUNK_ROWS * 4) {
    const text = refChunk.get(low, low + CHUNK_ROWS * 4) as Uint8Array | string | null;
    if (text === null) continue;
    if (typeof text !== 'string') addPackedPairs(text, digits, idToIndex, refs);
    else addPairs(text, idToIndex, refs);
  }

  // Valid outputs of valid derivations, and whether the output names that derivation as its deriver.
  const outputs = new EdgeList();
  const builtFrom = new Int32Array(n).fill(-1);
  const outputText = db.prepare("SELECT group_concat(drv || ' ' || path, ' ') FROM DerivationOutputs").pluck().get() as string | null;
  if (outputText !== null && n > 0) {
    const index = indexStorePaths(paths, storeDir);
    const cut = storeDir.length + 1;
    const scan = new Scanner(outputText);
    while (!scan.done()) {
      const drvId = scan.int();
      const outPath = scan.word();
      const drv = drvId < idToIndex.length ? idToIndex[drvId]! : -1;
      if (drv < 0 || !outPath.startsWith(storeDir) || outPath[storeDir.length] !== '/') continue;
      const out = index.byBase(outPath.slice(cut));
      if (out < 0) continue;
      outputs.push(drv, out);
      const drvPath = paths[drv]!;
      const namesDrv = deriverLength[out] === drvPath.length && texts[deriverText[out]!]!.startsWith(drvPath, deriverStart[out]);
      // ".drv" case-insensitively, as SQLite's LIKE '%.drv' compared it before.
      if (namesDrv && drvPath.slice(-4).toLowerCase() === '.drv') builtFrom[out] = drv;
    }
  }

  return assembleSnapshot({ storeDir, paths, narSize, builtFrom, refs, outputs });
}

/**
 * Parses the ASCII bytes "p p p ..." into index pairs, where each number is a referrer followed by a
 * reference of exactly `digits` digits (zero-padded); one tight loop, as it runs over a hundred
 * million bytes.
 */
export function addPackedPairs(bytes: Uint8Array, digits: number, idToIndex: Int32Array, edges: EdgeList): void {
  const length = bytes.length;
  let pos = 0;
  while (pos < length) {
    let end = pos;
    while (bytes[end]! >= 48) end++;
    const split = end - digits;
    let a = 0;
    for (; pos < split; pos++) a = a * 10 + (bytes[pos]! - 48);
    let b = 0;
    for (; pos < end; pos++) b = b * 10 + (bytes[pos]! - 48);
    pos = end + 1;
    const from = a < idToIndex.length ? idToIndex[a]! : -1;
    const to = b < idToIndex.length ? idToIndex[b]! : -1;
    if (from >= 0 && to >= 0) edges.push(from, to);
  }
}

/**
 * Parses "a b a b ..." (ids) into index pairs; written as one tight loop because it runs over
 * millions of characters.
 */
function addPairs(text: string, idToIndex: Int32Array, edges: EdgeList): void {
  const length = text.length;
  let pos = 0;
  while (pos < length) {
    let a = 0;
    let c = text.charCodeAt(pos);
    while (c >= 48 && c <= 57) {
      a = a * 10 + (c - 48);
      c = text.charCodeAt(++pos);
    }
    pos++;
    let b = 0;
    c = text.charCodeAt(pos);
    while (c >= 48 && c <= 57) {
      b = b * 10 + (c - 48);
      c = text.charCodeAt(++pos);
    }
    pos++;
    const from = a < idToIndex.length ? idToIndex[a]! : -1;
    const to = b < idToIndex.length ? idToIndex[b]! : -1;
    if (from >= 0 && to >= 0) edges.push(from, to);
  }
}

/** Reads unsigned integers and words separated by one space or newline from a string. */
class Scanner {
  private pos = 0;

  constructor(private readonly text: string) {}

  done(): boolean {
    return this.pos >= this.text.length;
  }

  /** The next unsigned integer (digits up to the next separator). */
  int(): number {
    const text = this.text;
    let value = 0;
    let c = text.charCodeAt(this.pos);
    while (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      c = text.charCodeAt(++this.pos);
    }
    this.pos++;
    return value;
  }

  /** Everything up to the next space (or the end). */
  word(): string {
    return this.rest(' ');
  }

  /** Where the next word starts. */
  position(): number {
    return this.pos;
  }

  /** Moves past the next `separator` (or to the end); returns the length of what it skipped. */
  skip(separator: string): number {
    let end = this.text.indexOf(separator, this.pos);
    if (end === -1) end = this.text.length;
    const length = end - this.pos;
    this.pos = end + 1;
    return length;
  }

  /** Everything up to the next `separator` (or the end). */
  rest(separator: string): string {
    let end = this.text.indexOf(separator, this.pos);
    if (end === -1) end = this.text.length;
    const word = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return word;
  }
}
