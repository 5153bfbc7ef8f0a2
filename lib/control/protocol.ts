/** The control channel: one JSON request line, one JSON response line, over <state_dir>/control.sock. */
export const CONTROL_COMMANDS = ['ping', 'start', 'stop', 'restart', 'force-restart', 'shutdown', 'reload', 'enable', 'disable'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlRequest {
  command: ControlCommand;
  services?: string[];
  options?: Record<string, unknown>;
}

export interface ControlResponse {
  ok: boolean;
  /** Lines to print. */
  messages?: string[];
  error?: string;
  /** Exit code the CLI should use when !ok. */
  exitCode?: number;
  data?: unknown;
}
