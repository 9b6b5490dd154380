// Structured JSON logs (pino) to stderr, one logger per component, so that
// stdout stays free for command output (`--json` reports, tokens).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(component: string, fields: Record<string, unknown> = {}): Logger {
  const level = process.env.ENTENTE_LOG_LEVEL ?? 'info';
  return pino({ level, base: { component, pid: process.pid, ...fields } }, pino.destination(2));
}

/** A logger that drops everything; for unit tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
