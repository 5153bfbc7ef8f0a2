/** User-causable errors: one line, a stable code, an exit code. Anything else is a bug and may show a stack. */
export class SupervisorError extends Error {
  constructor(readonly code: string, message: string, readonly exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SupervisorError';
  }
}

/** A bad config file, environment variable or flag value: exit 2. `problems` holds one line each. */
export class ConfigError extends SupervisorError {
  constructor(readonly problems: string[]) {
    super('config.invalid', problems.join('\n'), 2);
    this.name = 'ConfigError';
  }
}

/** The control channel: no supervisor, unknown service, refused request. */
export class ControlError extends SupervisorError {
  constructor(code: string, message: string, exitCode = 1) {
    super(code, message, exitCode);
    this.name = 'ControlError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the CLI prints for an error, and the exit code: one line for a user's error, the message for anything else. */
export function reportCliError(error: unknown, stderr: (text: string) => void): number {
  if (error instanceof SupervisorError) {
    stderr(`${error instanceof ConfigError ? '' : 'error: '}${error.message}\n`);
    return error.exitCode;
  }
  stderr(`error: ${errorMessage(error)}\n`);
  return 1;
}
