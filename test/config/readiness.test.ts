import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../lib/config/load.ts';
import { diffServices } from '../../lib/reload/diff.ts';

const file = join(tmpdir(), 'rc.yaml');
const load = (services: string) => parseConfigText(`services:\n${services}`, file).config;
const refused = (services: string): string => {
  try {
    load(services);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('the config was accepted');
};

describe('config: port, ready, after, drain, port_wait', () => {
  test('defaults: port alone is a tcp check, 1s interval, 5m timeout; port_wait is the stop_timeout', () => {
    const [web] = load('  - name: web\n    command: x\n    port: 8188\n    stop_timeout: 7s\n').services;
    assert.deepEqual(web!.ready, { probe: { kind: 'tcp', host: '127.0.0.1', port: 8188 }, intervalMs: 1000, timeoutMs: 300_000 });
    assert.equal(web!.portWaitMs, 7000);
    const [bare] = load('  - name: bare\n    command: x\n').services;
    assert.equal(bare!.ready, null);
    assert.equal(bare!.port, null);
  });

  test('each probe kind, after entries, drain', () => {
    const config = load([
      '  - name: a',
      '    command: x',
      '    ready: { http: "http://127.0.0.1:8188/", interval: 2s, timeout: 1m }',
      '    drain: { signal: SIGUSR1 }',
      '    port_wait: 30s',
      '  - name: b',
      '    command: x',
      '    ready: { log_line: "/GUI go to/" }',
      '    after: [a, { service: c, condition: completed }]',
      '    drain: { command: "curl -fsS -X POST http://127.0.0.1:8000/pause" }',
      '  - name: c',
      '    command: x',
      '    ready: { command: ./is-ready.sh }',
      '  - name: d',
      '    command: x',
      '    ready: { tcp: "localhost:5432" }',
    ].join('\n'));
    const [a, b, c, d] = config.services;
    assert.deepEqual(a!.ready, { probe: { kind: 'http', url: 'http://127.0.0.1:8188/' }, intervalMs: 2000, timeoutMs: 60_000 });
    assert.deepEqual(a!.drain, { signal: 'SIGUSR1', command: null, timeoutMs: 60_000 });
    assert.equal(a!.portWaitMs, 30_000);
    assert.deepEqual(b!.after, [{ service: 'a', condition: 'started' }, { service: 'c', condition: 'completed' }]);
    assert.equal(b!.ready!.probe.kind, 'log_line');
    assert.deepEqual(c!.ready!.probe, { kind: 'command', command: './is-ready.sh' });
    assert.deepEqual(d!.ready!.probe, { kind: 'tcp', host: 'localhost', port: 5432 });
  });

  test('refusals name file:line and key', () => {
    assert.match(refused('  - name: a\n    command: x\n    ready: { interval: 1s }\n'), /rc\.yaml:4: services\[0\]\.ready: expected one of http, tcp, command, log_line/);
    assert.match(refused('  - name: a\n    command: x\n    after: [{ service: a, condition: soon }]\n'), /condition.*started\|ready\|healthy\|completed/);
    assert.match(refused('  - name: a\n    command: x\n    drain: { signal: SIGUSR1, command: y }\n'), /drain: expected either signal or command/);
    assert.match(refused('  - name: a\n    command: x\n    port: 70000\n'), /port/);
    assert.match(refused('  - name: a\n    command: x\n    ready: { log_line: "/(/" }\n'), /valid \/regex\//);
    assert.match(refused('  - name: a\n    command: x\n    after: [b]\n  - name: b\n    command: x\n    after: [a]\n'), /rc\.yaml:4: services\[0\]\.after: dependency cycle a -> b -> a/);
    assert.match(refused('  - name: a\n    command: x\n    after: [a]\n'), /rc\.yaml:4: services\[0\]\.after\[0\]: service "a" cannot start after itself/);
    assert.match(refused('  - name: a\n    command: x\n    after: [ghost]\n'), /unknown service "ghost"/);
  });

  test('a change of `after` alone restarts nothing', () => {
    const before = load('  - name: a\n    command: x\n  - name: b\n    command: x\n').services;
    const after = load('  - name: a\n    command: x\n    after: [b]\n  - name: b\n    command: x\n').services;
    assert.deepEqual(diffServices(before, after).changed, []);
  });
});
