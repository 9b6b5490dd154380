// Runs a long-lived component until SIGINT/SIGTERM (or until the parent that
// started it dies, so a killed lab never leaves orphans), then closes it.
import type { Logger } from '../core/log.js';

export function runUntilSignal(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const stop = (why: string): void => {
    if (closing) return;
    closing = true;
    log.info({ why }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const parent = Number(process.env.ENTENTE_PARENT_PID);
  if (Number.isInteger(parent) && parent > 1) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        stop('parent process exited');
      }
    }, 1000).unref();
  }
}
