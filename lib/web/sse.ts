/**
 * Server-Sent Events: each message is serialised once and written to every client. A client that does not read (a
 * stalled tab, a slow link) lets Node buffer what it is sent: past a cap it is dropped, so it can cost neither memory
 * nor time; its EventSource reconnects by itself and the page reloads what it missed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bytes a client may have queued before it is dropped. */
export const CLIENT_BUFFER_CAP_BYTES = 256 * 1024;
/** A comment line this often keeps proxies from closing an idle stream. */
export const KEEPALIVE_MS = 20_000;
/** How soon an EventSource should retry after the connection is lost (e.g. a supervisor restart). */
const RETRY_MS = 2_000;

export interface SseStats {
  clients: number;
  dropped: number;
}

export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private nextId = 0;
  private droppedCount = 0;
  private readonly keepalive: NodeJS.Timeout;

  constructor(private readonly capBytes = CLIENT_BUFFER_CAP_BYTES) {
    // An event, not a comment: the page sees it, and reconnects when even these stop (a proxy holding a dead stream)
    this.keepalive = setInterval(() => this.write('event: ping\ndata: {}\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** Takes over the response; `onClose` runs once when the client goes (or is dropped). */
  open(request: IncomingMessage, response: ServerResponse, onClose?: () => void): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    response.write(`retry: ${RETRY_MS}\n\n`);
    request.socket.setNoDelay(true);
    this.clients.add(response);
    response.once('close', () => {
      this.clients.delete(response);
      onClose?.();
    });
  }

  /** `data` is JSON-encoded; `event` names a type other than the default `message`. */
  publish(data: unknown, event?: string): void {
    if (this.clients.size === 0) return;
    this.write(formatMessage(++this.nextId, data, event));
  }

  /** To one client only (a log stream's own lines). */
  send(response: ServerResponse, data: unknown, event?: string): void {
    this.writeTo(response, formatMessage(++this.nextId, data, event));
  }

  stats(): SseStats {
    return { clients: this.clients.size, dropped: this.droppedCount };
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const client of this.clients) client.destroy();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const client of this.clients) this.writeTo(client, text);
  }

  private writeTo(client: ServerResponse, text: string): void {
    if (client.destroyed) return;
    if (client.writableLength + text.length > this.capBytes) {
      this.droppedCount++;
      this.clients.delete(client);
      client.destroy();
      return;
    }
    client.write(text);
  }
}

export function formatMessage(id: number, data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ''}id: ${id}\ndata: ${JSON.stringify(data)}\n\n`;
}
