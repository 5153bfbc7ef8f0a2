// Demo service: a tiny HTTP server on 127.0.0.1 (PORT, default 8765).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8765);
const started = new Date().toISOString();
createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ ok: true, pid: process.pid, started, path: request.url }) + '\n');
}).listen(port, '127.0.0.1', () => console.log(`demo http server on http://127.0.0.1:${port} (pid ${process.pid})`));
process.on('SIGTERM', () => { console.log('SIGTERM: closing'); process.exit(0); });
