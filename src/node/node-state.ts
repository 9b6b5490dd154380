// What a node (agent or gateway) keeps on disk so that it can restart while
// its controller is unreachable: its enrollment, node key and SVID, the
// region's bundle, the last config it received, and workload SVIDs with their
// keys. Every file is 0600 and written atomically.
import { existsSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/atomic-file.js';
import type { MeshConfig } from '../mesh/mesh-config.js';
import type { WireBundle } from '../mesh/wire-bundle.js';

export interface Enrollment {
  readonly node: string;
  readonly kind: 'agent' | 'gateway';
  readonly region: string;
  readonly trustDomain: string;
  /** PEM of the region CA, pinned at enrollment. */
  readonly caPem: string;
}

/** A key and the SVID chain issued for it, stored together so they never mismatch. */
export interface StoredCredential {
  readonly spiffeId: string;
  readonly keyPem: string;
  readonly chainPem: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export class NodeState {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'workloads'), { recursive: true, mode: 0o700 });
  }

  private read<T>(name: string): T | undefined {
    const p = join(this.dir, name);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined;
  }

  private write(name: string, value: unknown): void {
    writeFileAtomicSync(join(this.dir, name), JSON.stringify(value), 0o600);
  }

  enrollment(): Enrollment | undefined {
    return this.read('enrollment.json');
  }
  saveEnrollment(e: Enrollment): void {
    this.write('enrollment.json', e);
  }

  nodeCredential(): StoredCredential | undefined {
    return this.read('node-credential.json');
  }
  saveNodeCredential(c: StoredCredential): void {
    this.write('node-credential.json', c);
  }

  ownBundle(): WireBundle | undefined {
    return this.read('bundle.json');
  }
  saveOwnBundle(b: WireBundle): void {
    this.write('bundle.json', b);
  }

  /** The cached config.json as text, unchecked: ConfigIntake validates it before anything uses it. */
  cachedConfigText(): string | undefined {
    const p = join(this.dir, 'config.json');
    return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
  }
  /** Only ever called with a config that was validated and applied. */
  saveConfig(c: MeshConfig): void {
    this.write('config.json', c);
  }

  workloadCredential(key: string): StoredCredential | undefined {
    return this.read(join('workloads', `${key.replace('/', '__')}.json`));
  }
  saveWorkloadCredential(key: string, c: StoredCredential): void {
    this.write(join('workloads', `${key.replace('/', '__')}.json`), c);
  }
  workloadCredentialKeys(): string[] {
    return readdirSync(join(this.dir, 'workloads'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5).replace('__', '/'));
  }
}
