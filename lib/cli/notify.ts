/** `notify test`: one test event to every sink, with or without a running supervisor. */
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { sendTestNotification } from '../notify/notifier.ts';
import type { CliIo } from './context.ts';

export async function notifyTestCommand(io: CliIo, configFile: string, eventType: string): Promise<number> {
  const { config } = loadConfig({ flag: configFile, env: io.env, cwd: io.cwd });
  if (config.notify.webhooks.length === 0 && !config.notify.command && !config.notify.nats) {
    io.stderr('error: no notification sinks configured (notify.webhooks, notify.command, notify.nats or RESTART_CONTROL_WEBHOOK_URL)\n');
    return 1;
  }
  const results = await sendTestNotification(config.notify, { host: hostname(), cwd: dirname(config.file), eventType });
  for (const result of results) {
    const time = `${Math.round(result.durationMs)} ms`;
    io.stdout(result.ok ? `OK    ${result.sink}  ${result.status ?? ''} in ${time}\n`.replace('  in', ' in') : `FAIL  ${result.sink}  ${result.error ?? `HTTP ${result.status}`} (${time})\n`);
  }
  return results.every((result) => result.ok) ? 0 : 1;
}
