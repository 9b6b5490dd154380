// Readable log lines for a terminal: `12:03:04.512 WARN  controller eu peer-sync:
// peer region unreachable  peer=us err="..."`. Each pino JSON line is parsed
// back, which costs more than JSON output: it is only chosen for a terminal.
import type { DestinationStream } from 'pino';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Shown in the prefix (identity of the process and part), not repeated as key=value. */
const PREFIX_KEYS = ['component', 'region', 'node', 'gateway', 'workload', 'part'] as const;
const HIDDEN_KEYS = new Set<string>(['level', 'time', 'msg', 'pid', ...PREFIX_KEYS]);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@>-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** One pino JSON line as a readable line (without newline); a line that is not JSON is passed through. */
export function formatLogLine(line: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof o.level === 'number' ? o.level : 30;
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const prefix = PREFIX_KEYS.map((k) => o[k]).filter((v) => v !== undefined).map(String).join(' ');
  const rest = Object.entries(o)
    .filter(([k]) => !HIDDEN_KEYS.has(k))
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
  const lvl = colour ? `\x1b[${LEVEL_COLOURS[level] ?? '0'}m${name}\x1b[0m` : name;
  const time = typeof o.time === 'number' ? clock(o.time) : '';
  return `${time} ${lvl} ${prefix}: ${String(o.msg ?? '')}${rest ? `  ${rest}` : ''}`;
}

/** A pino destination that writes readable lines to a terminal stream. */
export function prettyDestination(out: NodeJS.WriteStream): DestinationStream {
  const colour = out.isTTY === true && process.env.NO_COLOR === undefined;
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) if (line !== '') out.write(`${formatLogLine(line, colour)}\n`);
    },
  };
}
