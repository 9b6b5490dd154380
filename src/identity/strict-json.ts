// A strict JSON reader/writer for security documents (SPIFFE bundles, bundle
// maps, signed states). JSON.parse silently keeps the last of duplicate keys and
// rounds integers above 2^53; here a duplicate key is an error and integers are
// exact (bigint when they do not fit a double exactly).
import { EntenteError } from '../core/errors.js';

export type StrictJson = null | boolean | number | bigint | string | StrictJson[] | { [key: string]: StrictJson };

const MAX_DEPTH = 64;
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const INTEGER_RE = /^-?(?:0|[1-9]\d*)$/;

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(msg: string): never {
    throw new EntenteError('BAD_JSON', `${msg} at offset ${this.pos}`, { hint: 'the document must be valid JSON (RFC 8259) without duplicate keys' });
  }

  ws(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos++;
    }
  }

  value(depth: number): StrictJson {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(lit, this.pos)) {
        this.pos += lit.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
  }

  object(depth: number): { [key: string]: StrictJson } {
    // A null-prototype object: keys like "__proto__" are plain data here.
    const out = Object.create(null) as { [key: string]: StrictJson };
    const seen = new Set<string>();
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const keyAt = this.pos;
      const key = this.string();
      if (seen.has(key)) {
        this.pos = keyAt;
        this.fail(`duplicate key ${JSON.stringify(key)}`);
      }
      seen.add(key);
      this.ws();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos++;
      out[key] = this.value(depth + 1);
      this.ws();
      const sep = this.text[this.pos];
      this.pos++;
      if (sep === '}') return out;
      if (sep !== ',') {
        this.pos--;
        this.fail('expected "," or "}"');
      }
    }
  }

  array(depth: number): StrictJson[] {
    const out: StrictJson[] = [];
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const sep = this.text[this.pos];
      this.pos++;
      if (sep === ']') return out;
      if (sep !== ',') {
        this.pos--;
        this.fail('expected "," or "]"');
      }
    }
  }

  string(): string {
    const start = this.pos;
    this.pos++;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) this.pos += 2;
      else if (c === 0x22) break;
      else this.pos++;
    }
    this.pos++;
    try {
      // The token is delimited exactly; JSON.parse decodes its escapes per RFC 8259.
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      this.pos = start;
      return this.fail('bad escape in string');
    }
  }

  number(): number | bigint {
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(this.text);
    if (!m) this.fail('bad number');
    const raw = m[0];
    this.pos += raw.length;
    if (INTEGER_RE.test(raw)) {
      const n = Number(raw);
      // Exact as a double? Then a number; otherwise keep every digit.
      return Number.isSafeInteger(n) ? n : BigInt(raw);
    }
    return Number(raw);
  }
}

/** Parses JSON text; throws EntenteError BAD_JSON on any syntax error or duplicate key. */
export function parseStrictJson(text: string): StrictJson {
  const r = new Reader(text);
  const v = r.value(0);
  r.ws();
  if (r.pos !== text.length) r.fail('trailing data after the JSON value');
  return v;
}

/** JSON.stringify that writes bigints as exact JSON integers. */
export function stringifyJson(value: unknown, indent?: number): string {
  const marks = new Map<string, string>();
  let i = 0;
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => {
      if (typeof v !== 'bigint') return v;
      const mark = `\u0000bigint${i++}\u0000`;
      marks.set(mark, v.toString());
      return mark;
    },
    indent,
  );
  // Placeholders are JSON strings; swap each (with its quotes) for the digits.
  return marks.size === 0 ? text : text.replace(/"\\u0000bigint\d+\\u0000"/g, (q) => marks.get(JSON.parse(q) as string)!);
}

export function isJsonObject(v: StrictJson | undefined): v is { [key: string]: StrictJson } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
