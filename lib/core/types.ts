/** Shared types: service states, the resolved config, events. */

/** Where a service is. `killing` is internal (SIGKILL sent); users see it as `stopping`. */
export const SERVICE_STATES = ['stopped', 'starting', 'running', 'stopping', 'killing', 'backoff', 'exited', 'failed'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];
export type VisibleState = Exclude<ServiceState, 'killing'>;
export function visibleState(state: ServiceState): VisibleState {
  return state === 'killing' ? 'stopping' : state;
}

export const RESTART_POLICIES = ['no', 'on-failure', 'on-abnormal', 'always'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** Why a process ended (systemd's ServiceResult), kept apart from where the service is. */
export type ExitResult = 'success' | 'exit-code' | 'exit-signal-code' | 'signal';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface WaitIdleConfig {
  /** Runs like a hook; exit 0 = idle. */
  command: string;
  pollMs: number;
  maxWaitMs: number;
}

/** When a start is done (issue 11): a probe kind and its target; `port` alone means a tcp check on it. */
export type ReadyProbe =
  | { kind: 'http'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'command'; command: string }
  | { kind: 'log_line'; pattern: string };

export interface ReadyConfig {
  probe: ReadyProbe;
  intervalMs: number;
  timeoutMs: number;
}

export const AFTER_CONDITIONS = ['started', 'ready', 'healthy', 'completed'] as const;
export type AfterCondition = (typeof AFTER_CONDITIONS)[number];
export interface AfterEntry { service: string; condition: AfterCondition }

export interface DrainConfig {
  signal: NodeJS.Signals | null;
  command: string | null;
  /** The hooks' timeout, for drain.command. */
  timeoutMs: number;
}

export interface ServiceConfig {
  name: string;
  /** A string runs under /bin/sh -c; an array is argv. */
  command: string | string[];
  /** Absolute. */
  cwd: string;
  env: Record<string, string>;
  restart: RestartPolicy;
  restartSecMs: number;
  /** 0 = unlimited. */
  restartMax: number;
  restartWindowMs: number;
  /** null = give up forever. */
  restartCooldownMs: number | null;
  restartBackoff: 'fixed' | 'exponential';
  restartSecMaxMs: number;
  minUptimeMs: number;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  autostart: boolean;
  logTimestamps: boolean;
  watch: string[];
  watchIgnore: string[];
  watchDebounceMs: number;
  waitIdle: WaitIdleConfig | null;
  /** Liveness check (issue #10); null = none. */
  health: HealthConfig | null;
  /** RSS of the whole tree, bytes; null = no limit. */
  maxMemoryBytes: number | null;
  /** GPU memory of the tree's processes (nvidia-smi), bytes; null = no limit. */
  maxGpuMemoryBytes: number | null;
  /** Also a clean exit, like 0. */
  successExitCodes: number[];
  /** Always restarted, whatever the policy. */
  restartExitCodes: number[];
  /** Issue 11: the TCP port the service listens on; null = none. */
  port?: number | null;
  /** null = ready at once (or, with `port`, a tcp check on it). */
  ready?: ReadyConfig | null;
  after?: AfterEntry[];
  drain?: DrainConfig | null;
  /** How long a start waits for `port` to be free. */
  portWaitMs?: number;
}

/** One health probe: an HTTP GET, a TCP connect or a command (exit 0 = healthy). */
export type HealthProbe =
  | { kind: 'http'; url: string; /** Inclusive ranges of accepted status codes. */ expectStatus: [number, number][] }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'command'; command: string };

export interface HealthConfig {
  /** null = output_silence alone. */
  probe: HealthProbe | null;
  intervalMs: number;
  timeoutMs: number;
  failures: number;
  startPeriodMs: number;
  /** null = not watched. */
  outputSilenceMs: number | null;
  onUnhealthy: 'restart' | 'none';
}

export interface ResourcesConfig {
  intervalMs: number;
}

/** A service's health as state.json, `status --json` and metrics show it. */
export interface HealthStatus {
  status: 'healthy' | 'unhealthy' | 'starting';
  /** Consecutive failures counted so far. */
  failures: number;
  last_check: string | null;
  last_error: string | null;
  latency_ms: number | null;
}

/** One resources sample of a service's whole tree (setsid'd members included). */
export interface ResourceSample {
  cpu_percent: number;
  rss_bytes: number;
  /** null when nvidia-smi is not on PATH. */
  gpu_memory_bytes: number | null;
  /** How many processes the tree has. */
  processes: number;
  sampled_at: string;
}

export interface ScheduleConfig {
  enabled: boolean;
  mode: 'interval' | 'cron';
  intervalMs: number;
  cron: string | null;
  timezone: string | null;
  /** Empty = every service. */
  services: string[];
  waitIdle: WaitIdleConfig | null;
}

export interface HooksConfig {
  preRestart: string[];
  postStop: string[];
  preStart: string[];
  timeoutMs: number;
}

export interface GpuConfig {
  cleanup: 'auto' | 'off';
  resetCommand: string | null;
  maxUsedMb: number;
}

export interface LogsConfig {
  /** Absolute. */
  dir: string;
  /** 0 = never rotate. */
  maxSizeBytes: number;
  keep: number;
  compress: boolean;
  rotateOnRestart: boolean;
  /** Absolute path of the human-readable restart log. */
  restartLog: string;
}

export interface WebhookConfig {
  url: string;
  format: 'json' | 'slack' | 'discord';
  /** null = every event but `started`. */
  events: string[] | null;
  /** null = all. */
  services: string[] | null;
  secret: string | null;
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
}

export type NatsCredentials =
  | { kind: 'creds'; file: string }
  | { kind: 'user'; user: string; password: string }
  | { kind: 'token'; token: string };

/** notify.nats: events published on `<subjectPrefix>.<event>.<service_id>`. */
export interface NatsConfig {
  /** One or more servers (nats://host:port). */
  servers: string[];
  subjectPrefix: string;
  /** Template; {service} and {host} expand. */
  serviceId: string;
  events: string[];
  credentials: NatsCredentials | null;
}

export interface NotifyConfig {
  webhooks: WebhookConfig[];
  /** `${VAR}` expanded, each value shell-quoted: what /bin/sh -c runs. */
  command: string | null;
  /** The command as `config` shows it: every `${VAR}` value replaced by `***`. */
  commandShown?: string | null;
  /** Absent or null: no NATS sink. */
  nats?: NatsConfig | null;
}

export interface WebConfig {
  host: string;
  port: number;
  /** Starts and ends with `/`. */
  basePath: string;
  /** null = read-only page, loopback only. */
  token: string | null;
}

/** `metrics:`: GET /metrics on its own address. */
export interface MetricsConfig {
  /** host:port. */
  listen: string;
  /** Needed by clients that are not on loopback; null = loopback clients only. */
  token: string | null;
}

export interface Config {
  /** Absolute path of the config file. */
  file: string;
  /** Absolute. */
  stateDir: string;
  services: ServiceConfig[];
  /** null = no scheduled restarts. */
  schedule: ScheduleConfig | null;
  hooks: HooksConfig;
  gpu: GpuConfig;
  logs: LogsConfig;
  notify: NotifyConfig;
  autoReload: boolean;
  reloadDebounceMs: number;
  /** null = no web page. */
  web: WebConfig | null;
  /** Absent or null: no metrics endpoint of its own. */
  metrics?: MetricsConfig | null;
  resources: ResourcesConfig;
}

/** One line of events.jsonl. Extra fields depend on `event`. */
export interface EventRecord {
  time: string;
  event: string;
  service?: string;
  reason?: string;
  [field: string]: unknown;
}

export interface LastExit {
  code: number | null;
  signal: string | null;
  time: string;
}

/** What state.json holds for one service. */
export interface ServiceSnapshot {
  name: string;
  state: VisibleState;
  pid: number | null;
  /** Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22), to tell PID reuse apart. */
  pid_start: number | null;
  started_at: string | null;
  restarts: number;
  last_exit: LastExit | null;
  reason: string | null;
  pending_restart?: string | null;
  /** null = no health check configured. */
  health?: HealthStatus | null;
  /** null = not running or not sampled yet. */
  resources?: ResourceSample | null;
  /** The last stderr line before its last crash or give-up (null after a clean end or a stop). */
  last_stderr?: string | null;
  /** While it waits out restart_cooldown after giving up: when it is tried again. */
  retry_at?: string | null;
  /** Issue 11: since = when it became ready (null while waiting), condition = what it waits for. */
  ready?: { since: string | null; condition: string } | null;
  after?: AfterEntry[];
}

export interface StateFile {
  supervisor: { pid: number; pid_start: number | null; started_at: string; config: string };
  services: ServiceSnapshot[];
  schedule?: {
    enabled: boolean; mode: 'interval' | 'cron'; expression: string; next_restart: string | null; last_restart: string | null;
    interval_ms: number; cron: string | null; timezone: string | null;
  } | null;
  notify?: unknown;
  updated_at: string;
}
