// --log-level and --log-format, the same on every long-running command.
import type { Command } from 'commander';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogOptions, type Logger } from '../core/log.js';

export function withLogOptions(cmd: Command): Command {
  return cmd
    .option('--log-level <level>', `${LOG_LEVELS.join(', ')} (default: $ENTENTE_LOG_LEVEL, else info)`)
    .option('--log-format <format>', `${LOG_FORMATS.join(', ')}; auto is pretty on a terminal, JSON lines otherwise (default: $ENTENTE_LOG_FORMAT, else auto)`);
}

export function loggerFrom(opts: { logLevel?: string; logFormat?: string }, component: string, fields: Record<string, unknown> = {}): Logger {
  const o: LogOptions = { ...(opts.logLevel !== undefined ? { level: opts.logLevel } : {}), ...(opts.logFormat !== undefined ? { format: opts.logFormat } : {}) };
  return createLogger(component, fields, o);
}
