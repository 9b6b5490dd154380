// Durations in config are strings like "500ms", "30s", "15m", "1h"; parsed
// once into milliseconds at load time.
import { EntenteError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export function parseDuration(text: string, key = 'duration'): number {
  const m = DURATION.exec(text.trim());
  if (!m) {
    throw new EntenteError('BAD_DURATION', `${key}: "${text}" is not a duration`, {
      hint: 'expected a number followed by ms, s, m, h or d, e.g. "30s" or "1h"',
    });
  }
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
