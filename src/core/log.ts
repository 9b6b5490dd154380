// Structured logs (pino) to stderr, one logger per component, so that stdout
// stays free for command output (`--json` reports, tokens). JSON lines by
// default, for collectors; on a terminal, one readable line per event.
import { pino, type Logger, type DestinationStream } from 'pino';
import { EntenteError } from './errors.js';
import { prettyDestination } from './log-pretty.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogOptions {
  /** --log-level, else $ENTENTE_LOG_LEVEL, else info. */
  readonly level?: string;
  /** --log-format, else $ENTENTE_LOG_FORMAT, else auto: pretty when stderr is a terminal. */
  readonly format?: string;
}

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new EntenteError('CLI_USAGE', `${what} "${value}" is not one of ${allowed.join(', ')}`);
}

export function resolveLogOptions(opts: LogOptions = {}, env: NodeJS.ProcessEnv = process.env): { level: LogLevel; format: 'json' | 'pretty' } {
  const level = oneOf(opts.level !== undefined ? '--log-level' : 'ENTENTE_LOG_LEVEL', opts.level ?? env.ENTENTE_LOG_LEVEL ?? 'info', LOG_LEVELS);
  const format = oneOf(opts.format !== undefined ? '--log-format' : 'ENTENTE_LOG_FORMAT', opts.format ?? env.ENTENTE_LOG_FORMAT ?? 'auto', LOG_FORMATS);
  return { level, format: format === 'auto' ? (process.stderr.isTTY ? 'pretty' : 'json') : format };
}

/**
 * `fields` are bound to every line (the component's identity: region, node).
 * Callers must not log a key that is already bound: JSON with a repeated key
 * is read differently by every parser (a peer's region goes under `peer`).
 */
export function createLogger(component: string, fields: Record<string, unknown> = {}, opts: LogOptions = {}): Logger {
  const { level, format } = resolveLogOptions(opts);
  const destination: DestinationStream = format === 'pretty' ? prettyDestination(process.stderr) : pino.destination(2);
  return pino({ level, base: { component, pid: process.pid, ...fields } }, destination);
}

/** A logger that drops everything; for unit tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
