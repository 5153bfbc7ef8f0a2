/** The supervisor's side of the control socket. */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { errorMessage, SupervisorError } from '../core/errors.ts';
import { ensurePrivateDir } from '../core/secure-fs.ts';
import { socketPathFits } from '../config/paths.ts';
import { CONTROL_COMMANDS, type ControlRequest, type ControlResponse } from './protocol.ts';

export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>;

/** Requests larger than this are refused: the protocol carries names and flags only. */
const MAX_REQUEST_BYTES = 64 * 1024;

export async function startControlServer(path: string, handle: ControlHandler): Promise<Server> {
  if (!socketPathFits(path)) throw new SupervisorError('control.socket-path', `control socket path ${path} is too long for a unix socket (max 107 bytes): use a shorter state_dir or TMPDIR`);
  // state_dir, or this user's private fallback folder: created 0700, refused when someone else owns or can write it
  ensurePrivateDir(dirname(path), 'control socket folder');
  rmSync(path, { force: true });
  const server = createServer((socket) => serve(socket, handle));
  const previousUmask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(previousUmask);
  }
  chmodSync(path, 0o600);
  return server;
}

function serve(socket: Socket, handle: ControlHandler): void {
  let buffer = '';
  let clientGone = false;
  socket.on('end', () => { clientGone = true; });
  socket.on('close', () => { clientGone = true; });
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_REQUEST_BYTES) return reply(socket, { ok: false, error: 'request too large', exitCode: 2 });
    const newline = buffer.indexOf('\n');
    if (newline < 0) return;
    const line = buffer.slice(0, newline);
    socket.removeAllListeners('data');
    // The ack tells the client we are alive; the answer may take as long as the operation does
    socket.write(`${JSON.stringify({ ack: true })}\n`);
    socket.resume();
    // A client that gave up (a wedged or stopped supervisor, Ctrl-C) has closed its end: don't act on its request
    setTimeout(() => {
      if (clientGone) return socket.destroy();
      void answer(line, handle).then((response) => reply(socket, response));
    }, 0);
  });
}

async function answer(line: string, handle: ControlHandler): Promise<ControlResponse> {
  let request: ControlRequest;
  try {
    request = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: 'malformed request', exitCode: 2 };
  }
  if (!CONTROL_COMMANDS.includes(request.command)) return { ok: false, error: `unknown command '${String(request.command)}'`, exitCode: 2 };
  try {
    return await handle(request);
  } catch (error) {
    const exitCode = error instanceof SupervisorError ? error.exitCode : 1;
    return { ok: false, error: errorMessage(error), exitCode };
  }
}

function reply(socket: Socket, response: ControlResponse): void {
  if (socket.destroyed) return;
  socket.end(`${JSON.stringify(response)}\n`);
}
