// The region's state key: 32 random bytes in a file that every controller
// replica has (and nothing else). Secrets the replicas share through etcd
// (the CA's private keys) are sealed with it, AES-256-GCM with the etcd key as
// associated data: someone who can read etcd, or restore an etcd backup, does
// not get the CA key, and a sealed value moved to another key does not open.
// Every other value the replicas share is authenticated with a key derived
// from it (HMAC-SHA-256 over the etcd key and the value): someone who can
// write to etcd but lacks the state key cannot enroll a node, mint a token,
// or push a config; what they write is refused and counted.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { EntenteError, describeError } from '../../core/errors.js';

const FORMAT = 'es1';
const MAC_FORMAT = 'em1';

export class StateKey {
  private readonly macKey: Buffer;

  private constructor(private readonly key: Buffer) {
    // A separate key for authentication: the AES key is never used for anything else.
    this.macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), Buffer.from('entente replica value mac v1'), 32));
  }

  static fromFile(path: string): StateKey {
    let text: string;
    try {
      const st = statSync(path);
      if ((st.mode & 0o077) !== 0) {
        throw new EntenteError('STATE_KEY_EXPOSED', `etcd.stateKeyFile ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)})`, { hint: `chmod 600 ${path}` });
      }
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      if (err instanceof EntenteError) throw err;
      throw new EntenteError('STATE_KEY_UNREADABLE', `etcd.stateKeyFile ${path}: ${describeError(err)}`, { hint: 'create it once with `head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE` and copy it to every replica' });
    }
    const key = Buffer.from(text, 'base64');
    if (key.length !== 32 || key.toString('base64') !== text.replace(/\s+/g, '')) {
      throw new EntenteError('STATE_KEY_INVALID', `etcd.stateKeyFile ${path}: expected 32 bytes in base64 (44 characters), got ${text.length} characters`, { hint: '`head -c 32 /dev/urandom | base64`' });
    }
    return new StateKey(key);
  }

  static fromBytes(key: Buffer): StateKey {
    if (key.length !== 32) throw new Error('a state key is 32 bytes');
    return new StateKey(key);
  }

  /** "em1.<mac>.<text>": `text` as written, authenticated for `context` (its etcd key). */
  authenticate(text: string, context: string): string {
    return `${MAC_FORMAT}.${this.mac(text, context)}.${text}`;
  }

  /** The text of an authenticated value, or undefined when it is not one, or not for `context`, or altered. */
  verify(value: string, context: string): string | undefined {
    const m = /^em1\.([A-Za-z0-9_-]{43})\.([\s\S]*)$/.exec(value);
    if (!m) return undefined;
    const given = Buffer.from(m[1]!, 'base64url');
    const expected = Buffer.from(this.mac(m[2]!, context), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) ? m[2] : undefined;
  }

  private mac(text: string, context: string): string {
    return createHmac('sha256', this.macKey).update(context).update('\0').update(text).digest('base64url');
  }

  /** "es1.<iv>.<tag>.<ciphertext>" (base64url), bound to `context` (the etcd key it is stored under). */
  seal(plaintext: Buffer, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(context));
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    return [FORMAT, iv.toString('base64url'), c.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** The plaintext, or an error naming why it does not open (another key, another context, altered). */
  open(sealed: string, context: string): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== FORMAT) throw new EntenteError('SEALED_MALFORMED', `sealed value under ${context} is not "${FORMAT}.<iv>.<tag>.<data>"`);
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parts[1]!, 'base64url'));
      d.setAAD(Buffer.from(context));
      d.setAuthTag(Buffer.from(parts[2]!, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(parts[3]!, 'base64url')), d.final()]);
    } catch {
      throw new EntenteError('SEALED_WRONG_KEY', `sealed value under ${context} does not open with this state key (another region's key, or altered)`, { hint: 'every replica of the region needs the same etcd.stateKeyFile' });
    }
  }
}
