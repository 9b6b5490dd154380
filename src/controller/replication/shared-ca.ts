// The region CA shared by controller replicas through etcd: one document
// holding ca-state.json and every authority's key and certificate, sealed with
// the state key (so etcd never holds a CA key in the clear). The first replica
// to start publishes its CA (create-only: if two race, one CA wins and the
// other replica adopts it); the leader publishes again after each rotation
// step; every replica writes the newest document into its own CA directory
// (files first, the state last, as the CA itself does) and reloads from it.
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { EntenteError } from '../../core/errors.js';
import { caStateText, deleteAuthorityFiles, ensureCaDir, parseCaState, readAuthority, readCaState, writeAuthorityFiles, STATE_FILE } from '../../identity/ca-store.js';
import type { CaState } from '../../identity/ca-rotation.js';
import type { StateKey } from './state-key.js';

interface CaDocument {
  readonly state: string;
  readonly authorities: readonly { readonly id: string; readonly keyPem: string; readonly certPem: string }[];
}

/** The sealed document of the CA in `dir`. */
export async function sealCaDirectory(dir: string, key: StateKey, etcdKey: string): Promise<string> {
  const state = await readCaState(dir);
  if (!state) throw new EntenteError('CA_MISSING', `no CA in ${dir} to publish`);
  const authorities = await Promise.all(state.authorities.map(async (r) => {
    const a = await readAuthority(dir, r);
    return { id: r.id, keyPem: a.keyPem, certPem: a.certPem };
  }));
  const doc: CaDocument = { state: caStateText(state), authorities };
  return key.seal(Buffer.from(JSON.stringify(doc)), etcdKey);
}

/** Opens and checks a sealed document: its state parses and names exactly the authorities it carries. */
export function openCaDocument(sealed: string, key: StateKey, etcdKey: string, trustDomain: string): { state: CaState; authorities: CaDocument['authorities'] } {
  const where = `etcd ${etcdKey}`;
  let doc: Partial<CaDocument>;
  try {
    doc = JSON.parse(key.open(sealed, etcdKey).toString('utf8')) as Partial<CaDocument>;
  } catch (err) {
    if (err instanceof EntenteError) throw err;
    throw new EntenteError('CA_DOCUMENT_INVALID', `${where}: not JSON`);
  }
  if (typeof doc.state !== 'string' || !Array.isArray(doc.authorities)) throw new EntenteError('CA_DOCUMENT_INVALID', `${where}: expected { state, authorities }`);
  const state = parseCaState(doc.state, where);
  if (state.trustDomain !== trustDomain) throw new EntenteError('CA_TRUST_DOMAIN_MISMATCH', `${where} holds the CA of ${state.trustDomain}, not ${trustDomain}`, { hint: 'two regions share an etcd prefix: give each its own etcd.prefix' });
  const byId = new Map(doc.authorities.map((a) => [a.id, a]));
  for (const r of state.authorities) {
    const a = byId.get(r.id);
    if (!a || typeof a.keyPem !== 'string' || typeof a.certPem !== 'string') throw new EntenteError('CA_DOCUMENT_INVALID', `${where}: authority ${r.id} has no key or certificate`);
  }
  return { state, authorities: doc.authorities };
}

/** Writes an opened document into `dir`: new authority files, then the state (the commit point), then removes files the state no longer names. */
export async function writeCaDirectory(dir: string, opened: ReturnType<typeof openCaDocument>): Promise<void> {
  await ensureCaDir(dir);
  const before = await readCaState(dir).catch(() => undefined);
  const byId = new Map(opened.authorities.map((a) => [a.id, a]));
  for (const r of opened.state.authorities) {
    const a = byId.get(r.id)!;
    await writeAuthorityFiles(dir, r, a.keyPem, a.certPem);
  }
  await writeFileAtomic(join(dir, STATE_FILE), caStateText(opened.state), 0o600);
  const kept = new Set(opened.state.authorities.map((r) => r.id));
  for (const r of before?.authorities ?? []) if (!kept.has(r.id)) await deleteAuthorityFiles(dir, r);
}

/** Whether `dir` holds exactly the state of `opened` (nothing to write). */
export async function caDirectoryHolds(dir: string, opened: ReturnType<typeof openCaDocument>): Promise<boolean> {
  try {
    return (await readFile(join(dir, STATE_FILE), 'utf8')) === caStateText(opened.state);
  } catch {
    return false;
  }
}

/** Publishes the CA in `dir` only if etcd holds none yet; false when another replica's CA is there. */
export async function publishCaIfAbsent(client: Etcd3, etcdKey: string, dir: string, key: StateKey): Promise<boolean> {
  const sealed = await sealCaDirectory(dir, key, etcdKey);
  const r = await client.if(etcdKey, 'Create', '==', 0).then(client.put(etcdKey).value(sealed)).commit();
  return r.succeeded === true;
}
