/** The CLI's side of the control socket. */
import { connect } from 'node:net';
import { ControlError } from './errors.ts';
import { type ControlRequest, type ControlResponse } from './control-protocol.ts';

export async function sendControlRequest(path: string, request: ControlRequest): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => { buffer += chunk; });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') reject(new ControlError('control.no-supervisor', 'no supervisor is running (start it with ./run.ts)', 3));
      else reject(new ControlError('control.socket', `cannot reach the supervisor at ${path}: ${error.message}`));
    });
    socket.on('close', () => {
      const line = buffer.split('\n')[0] ?? '';
      if (!line) return reject(new ControlError('control.closed', 'the supervisor closed the connection without answering'));
      try {
        resolve(JSON.parse(line) as ControlResponse);
      } catch {
        reject(new ControlError('control.malformed', 'the supervisor sent a malformed answer'));
      }
    });
  });
}
