// The region CA on disk: ca-state.json (which authorities exist, when each
// signs, the bundle sequence) beside one key (0600) and certificate per
// authority. Every write is atomic (temp file + rename) and ordered so a crash
// leaves at worst an orphan key file that the state does not name.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { writeFileAtomic } from '../core/atomic-file.js';
import { EntenteError } from '../core/errors.js';
import { isJsonObject, parseStrictJson, stringifyJson } from './strict-json.js';
import type { CaAuthorityRecord, CaState } from './ca-rotation.js';

export const STATE_FILE = 'ca-state.json';
/** Files of the first layout (one root, no rotation), migrated on load. */
const LEGACY_KEY = 'ca.key';
const LEGACY_CERT = 'ca.crt';

export interface LoadedAuthority {
  readonly record: CaAuthorityRecord;
  readonly keyPem: string;
  readonly certPem: string;
}

function corrupt(dir: string, msg: string, cause?: unknown): never {
  throw new EntenteError('CA_STATE_CORRUPT', `CA state in ${dir}: ${msg}`, {
    cause,
    hint: `restore ${join(dir, STATE_FILE)} from backup; deleting the directory creates a new CA and every SVID and federation peer must then be re-established`,
  });
}

function num(dir: string, o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) corrupt(dir, `"${k}" must be an integer`);
  return v;
}

function str(dir: string, o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || !/^[A-Za-z0-9._-]+$/.test(v)) corrupt(dir, `"${k}" must be a plain file or id name`);
  return v;
}

export async function readCaState(dir: string): Promise<CaState | undefined> {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  return parseCaState(await readFile(path, 'utf8'), dir);
}

/** ca-state.json's text, checked (`where` names it in errors: the directory, or where else it came from). */
export function parseCaState(text: string, where: string): CaState {
  const dir = where;
  let doc;
  try {
    doc = parseStrictJson(text);
  } catch (err) {
    return corrupt(dir, 'not valid JSON', err);
  }
  if (!isJsonObject(doc) || doc.version !== 1 || !Array.isArray(doc.authorities)) corrupt(dir, 'unknown format');
  const seq = doc.sequence;
  if (typeof seq !== 'string' || !/^\d+$/.test(seq)) corrupt(dir, '"sequence" must be a decimal string');
  if (typeof doc.trustDomain !== 'string') corrupt(dir, '"trustDomain" is missing');
  const authorities = doc.authorities.map((a): CaAuthorityRecord => {
    if (!isJsonObject(a)) corrupt(dir, 'an authority is not an object');
    return {
      id: str(dir, a, 'id'),
      certFile: str(dir, a, 'certFile'),
      keyFile: str(dir, a, 'keyFile'),
      publishedAtMs: num(dir, a, 'publishedAtMs'),
      activeFromMs: num(dir, a, 'activeFromMs'),
      notBeforeMs: num(dir, a, 'notBeforeMs'),
      notAfterMs: num(dir, a, 'notAfterMs'),
    };
  });
  return { version: 1, trustDomain: doc.trustDomain, sequence: BigInt(seq), authorities };
}

export function caStateText(state: CaState): string {
  return stringifyJson({ ...state, sequence: state.sequence.toString() }, 2) + '\n';
}

export async function writeCaState(dir: string, state: CaState): Promise<void> {
  await writeFileAtomic(join(dir, STATE_FILE), caStateText(state), 0o600);
}

export async function readAuthority(dir: string, record: CaAuthorityRecord): Promise<LoadedAuthority> {
  try {
    const [keyPem, certPem] = await Promise.all([readFile(join(dir, record.keyFile), 'utf8'), readFile(join(dir, record.certFile), 'utf8')]);
    return { record, keyPem, certPem };
  } catch (err) {
    return corrupt(dir, `files of authority ${record.id} cannot be read`, err);
  }
}

/** Key first, then certificate; the caller writes the state naming them last. */
export async function writeAuthorityFiles(dir: string, record: CaAuthorityRecord, keyPem: string, certPem: string): Promise<void> {
  await ensureCaDir(dir);
  await writeFileAtomic(join(dir, record.keyFile), keyPem, 0o600);
  await writeFileAtomic(join(dir, record.certFile), certPem, 0o644);
}

/** After the state stopped naming it: the key is useless now, so it goes. */
export async function deleteAuthorityFiles(dir: string, record: CaAuthorityRecord): Promise<void> {
  for (const f of [record.keyFile, record.certFile]) await unlink(join(dir, f)).catch(() => undefined);
}

export async function ensureCaDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** The first layout had ca.key + ca.crt and no state: describe them as the one active authority. */
export async function migrateLegacyLayout(dir: string, trustDomain: string): Promise<CaState | undefined> {
  if (!existsSync(join(dir, LEGACY_KEY)) || !existsSync(join(dir, LEGACY_CERT))) return undefined;
  const cert = new X509Certificate(await readFile(join(dir, LEGACY_CERT)));
  const notBeforeMs = new Date(cert.validFrom).getTime();
  const state: CaState = {
    version: 1,
    trustDomain,
    sequence: BigInt(Math.floor(notBeforeMs / 1000)),
    authorities: [{ id: 'legacy', certFile: LEGACY_CERT, keyFile: LEGACY_KEY, publishedAtMs: notBeforeMs, activeFromMs: notBeforeMs, notBeforeMs, notAfterMs: new Date(cert.validTo).getTime() }],
  };
  await writeCaState(dir, state);
  return state;
}
