/** The CLI's side of the control socket. */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { socketFallbackDir } from '../config/paths.ts';
import { unsafeDirReason } from '../core/secure-fs.ts';
import { ControlError } from '../core/errors.ts';
import type { ControlRequest, ControlResponse } from './protocol.ts';

/** A live supervisor acknowledges a request at once, however long the operation then takes. */
export const ACK_TIMEOUT_MS = 5000;

export async function sendControlRequest(path: string, request: ControlRequest, ackTimeoutMs = ACK_TIMEOUT_MS): Promise<ControlResponse> {
  // The fallback folder lives in the shared temp dir: never talk to a socket someone else could have planted there
  if (dirname(path) === socketFallbackDir() && existsSync(path)) {
    const unsafe = unsafeDirReason(dirname(path));
    if (unsafe) throw new ControlError('control.unsafe-socket', `refusing the control socket ${path}: its folder ${unsafe}`);
  }
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffer = '';
    socket.setEncoding('utf8');
    const ackTimer = setTimeout(() => {
      socket.destroy();
      reject(new ControlError('control.unresponsive', `the supervisor did not answer within ${ackTimeoutMs / 1000}s (stopped or overloaded?); nothing was done`));
    }, ackTimeoutMs);
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.includes('\n')) clearTimeout(ackTimer);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(ackTimer);
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new ControlError('control.no-supervisor', 'no supervisor is running (start it with ./run.ts)', 3));
      else reject(new ControlError('control.socket', `cannot reach the supervisor at ${path}: ${error.message}`));
    });
    socket.on('close', () => {
      clearTimeout(ackTimer);
      const line = buffer.split('\n').filter((text) => text && !text.startsWith('{"ack":'))[0] ?? '';
      if (!line) return reject(new ControlError('control.closed', 'the supervisor closed the connection without answering'));
      try {
        resolve(JSON.parse(line) as ControlResponse);
      } catch {
        reject(new ControlError('control.malformed', 'the supervisor sent a malformed answer'));
      }
    });
  });
}
