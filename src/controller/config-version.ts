// The version of the config the controller pushes to its nodes, kept on disk
// with the digest of the content it names: versions only grow, across restarts
// too, and a restart never issues a version it already gave other content.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

interface Saved {
  readonly version: number;
  readonly digest: string;
}

/** Pure: the version for `digest`, given what was last issued. */
export function nextVersion(last: Saved | undefined, digest: string): { version: number; changed: boolean } {
  if (last === undefined) return { version: 1, changed: true };
  if (last.digest === digest) return { version: last.version, changed: false };
  return { version: last.version + 1, changed: true };
}

export class ConfigVersion {
  private last: Saved | undefined;

  constructor(private readonly path: string, private readonly log: Logger) {
    this.last = this.read();
  }

  /** The last version this counter issued (0 if none): where a replica's shared counter starts, after an upgrade from one controller. */
  lastIssued(): number {
    return this.last?.version ?? 0;
  }

  /** The version naming `content` (the config without its version): the saved one if the content is unchanged, else one more. */
  versionFor(content: string): number {
    const digest = createHash('sha256').update(content).digest('hex');
    const next = nextVersion(this.last, digest);
    if (!next.changed) return next.version;
    this.last = { version: next.version, digest };
    try {
      writeFileAtomicSync(this.path, `${JSON.stringify(this.last)}\n`, 0o600);
    } catch (err) {
      // Still pushed: the nodes need it now. A restart may then re-issue this version for other content.
      this.log.error({ file: this.path, err: describeError(err), version: next.version }, 'could not save the config version counter');
    }
    return next.version;
  }

  private read(): Saved | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return this.fromClock(describeError(err));
    }
    try {
      const d = JSON.parse(text) as Partial<Saved>;
      if (typeof d.version === 'number' && Number.isSafeInteger(d.version) && d.version > 0 && typeof d.digest === 'string') return { version: d.version, digest: d.digest };
    } catch {
      // reported below
    }
    return this.fromClock('not {"version", "digest"}');
  }

  /** The counter is lost: continue from the clock (ms since epoch), above any version a counter could have reached. */
  private fromClock(why: string): Saved {
    const version = Date.now();
    this.log.error({ file: this.path, version }, `config version counter unusable (${why}); continuing from the clock so that no version is issued twice`);
    return { version, digest: '' };
  }
}
