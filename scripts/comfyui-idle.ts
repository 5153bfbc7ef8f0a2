#!/bin/sh
//bin/true; D=$(dirname "$(dirname "$(readlink -f "$0")")"); command -v "${NODE:-node}" >/dev/null || PATH="$PATH:/usr/local/bin"; exec "${NODE:-node}" --import "$D/node_modules/tsx/dist/loader.mjs" "$0" "$@"
// Line 2 is for /bin/sh (TypeScript sees a comment): run this file through the project's tsx, from any directory.
/**
 * A wait_idle check for ComfyUI: exit 0 when its queue is empty (safe to restart), 1 while a prompt runs or waits.
 * A ComfyUI that does not answer has no job to protect, so that counts as idle (with a note on stderr).
 * Env: COMFYUI_URL (default http://127.0.0.1:8188), COMFYUI_IDLE_TIMEOUT_MS (default 5000).
 */
const IDLE = 0;
const BUSY = 1;

interface QueueAnswer {
  queue_running?: unknown[];
  queue_pending?: unknown[];
}

async function checkQueue(baseUrl: string, timeoutMs: number): Promise<number> {
  const url = new URL('/queue', baseUrl);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    console.error(`comfyui-idle: ${url} did not answer (${reasonOf(error)}): nothing to protect, idle`);
    return IDLE;
  }
  if (!response.ok) {
    console.error(`comfyui-idle: ${url} answered HTTP ${response.status}: treating as idle`);
    return IDLE;
  }
  let queue: QueueAnswer;
  try {
    queue = (await response.json()) as QueueAnswer;
  } catch {
    console.error(`comfyui-idle: ${url} did not return JSON: treating as idle`);
    return IDLE;
  }
  const running = queue.queue_running?.length ?? 0;
  const pending = queue.queue_pending?.length ?? 0;
  if (running === 0 && pending === 0) {
    console.log('comfyui-idle: queue empty, idle');
    return IDLE;
  }
  console.log(`comfyui-idle: busy (${running} running, ${pending} pending)`);
  return BUSY;
}

/** fetch says only "fetch failed"; the useful part (ECONNREFUSED, a timeout) is in its cause. */
function reasonOf(error: unknown): string {
  const { name, message, cause } = error as Error & { cause?: { code?: string; message?: string } };
  if (name === 'TimeoutError') return 'timed out';
  return cause?.code ?? cause?.message ?? message;
}

const baseUrl = process.env.COMFYUI_URL || 'http://127.0.0.1:8188';
const timeoutMs = Number(process.env.COMFYUI_IDLE_TIMEOUT_MS) || 5000;
process.exitCode = await checkQueue(baseUrl, timeoutMs);
