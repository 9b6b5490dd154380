// The one error base class: a stable machine-readable code, a message that
// names the thing, and a hint that says what the operator should check.

export class EntenteError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EntenteError';
    this.code = code;
    this.hint = options.hint;
  }

  /** For logs and CLI output: `CODE: message (hint: ...)`; the hint on a line of its own after a multi-line message. */
  describe(): string {
    if (!this.hint) return `${this.code}: ${this.message}`;
    // A message of several lines (one per config problem) ends with a line of its own, not the hint.
    return this.message.includes('\n') ? `${this.code}: ${this.message}\n  (hint: ${this.hint})` : `${this.code}: ${this.message} (hint: ${this.hint})`;
  }
}

/** Turns anything thrown into a printable one-liner. */
export function describeError(err: unknown): string {
  if (err instanceof EntenteError) return err.describe();
  if (err instanceof Error) return err.message;
  return String(err);
}
