/** health:, limits, exit-code lists and resources: as written → resolved, and every bad input refused with file:line, key, exit 2. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../lib/config/load.ts';
import { ConfigError } from '../../lib/core/errors.ts';
import { parseExpectStatus, parseHostPort } from '../../lib/health/config.ts';
import { makeTempDir } from '../helpers.ts';
import { CLI, ROOT, cleanEnv } from '../support.ts';

const temp = makeTempDir('rc-health-config-');
after(() => temp.remove());

function write(name: string, service: string, top = ''): string {
  const file = join(temp.path, name);
  writeFileSync(file, `${top}services:\n  - name: web\n    command: sleep 1000\n${service}`);
  return file;
}

function problems(file: string): string[] {
  try {
    loadConfig({ flag: file });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('health config: resolved', () => {
  test('defaults, and every key', () => {
    const file = write('full.yaml', [
      '    health:',
      '      http: http://127.0.0.1:8188/system_stats',
      '      expect_status: [200, "300-302"]',
      '      interval: 2s',
      '      timeout: 1s',
      '      failures: 2',
      '      start_period: 2m',
      '      output_silence: 20m',
      '      on_unhealthy: none',
      '    max_memory: 24GB',
      '    max_gpu_memory: 20GB',
      '    success_exit_codes: [130, 143]',
      '    restart_exit_codes: [75]',
      '',
    ].join('\n'), 'resources:\n  interval: 3s\n');
    const { config } = loadConfig({ flag: file });
    const web = config.services[0]!;
    assert.deepEqual(web.health, {
      probe: { kind: 'http', url: 'http://127.0.0.1:8188/system_stats', expectStatus: [[200, 200], [300, 302]] },
      intervalMs: 2000, timeoutMs: 1000, failures: 2, startPeriodMs: 120_000, outputSilenceMs: 1_200_000, onUnhealthy: 'none',
    });
    assert.equal(web.maxMemoryBytes, 24 * 1024 ** 3);
    assert.equal(web.maxGpuMemoryBytes, 20 * 1024 ** 3);
    assert.deepEqual(web.successExitCodes, [130, 143]);
    assert.deepEqual(web.restartExitCodes, [75]);
    assert.equal(config.resources.intervalMs, 3000);
  });
  test('defaults: interval 30s, timeout 5s, failures 3, start_period 0, 200-399, restart; resources 10s', () => {
    const { config } = loadConfig({ flag: write('defaults.yaml', '    health:\n      tcp: 127.0.0.1:8188\n') });
    assert.deepEqual(config.services[0]!.health, {
      probe: { kind: 'tcp', host: '127.0.0.1', port: 8188 }, intervalMs: 30_000, timeoutMs: 5_000, failures: 3, startPeriodMs: 0, outputSilenceMs: null, onUnhealthy: 'restart',
    });
    assert.equal(config.resources.intervalMs, 10_000);
    assert.equal(config.services[0]!.maxMemoryBytes, null);
    assert.deepEqual(config.services[0]!.restartExitCodes, []);
  });
  test('command probe, and output_silence alone', () => {
    const a = loadConfig({ flag: write('cmd.yaml', '    health:\n      command: ./scripts/check.sh\n') }).config.services[0]!.health;
    assert.deepEqual(a?.probe, { kind: 'command', command: './scripts/check.sh' });
    const b = loadConfig({ flag: write('silence.yaml', '    health:\n      output_silence: 20m\n') }).config.services[0]!.health;
    assert.equal(b?.probe, null);
    assert.equal(b?.outputSilenceMs, 1_200_000);
  });
  test('expect_status and host:port parsing', () => {
    assert.deepEqual(parseExpectStatus(200), [[200, 200]]);
    assert.deepEqual(parseExpectStatus('200-399'), [[200, 399]]);
    assert.equal(parseExpectStatus('abc'), null);
    assert.equal(parseExpectStatus('399-200'), null);
    assert.deepEqual(parseHostPort('[::1]:80'), { host: '::1', port: 80 });
    assert.equal(parseHostPort('localhost'), null);
    assert.equal(parseHostPort('localhost:70000'), null);
  });
});

const BAD: Array<{ what: string; yaml: string; line: number; key: string; message: RegExp }> = [
  { what: 'two probe kinds', yaml: '    health:\n      http: http://127.0.0.1:1/\n      tcp: 127.0.0.1:1\n', line: 6, key: 'services[0].health.tcp', message: /one probe kind, got http and tcp/ },
  { what: 'http that is not an http(s) URL', yaml: '    health:\n      http: ftp://127.0.0.1/x\n', line: 5, key: 'services[0].health.http', message: /http:\/\/ or https:\/\/ URL/ },
  { what: 'tcp without a port', yaml: '    health:\n      tcp: 127.0.0.1\n', line: 5, key: 'services[0].health.tcp', message: /host:port/ },
  { what: 'failures: 0', yaml: '    health:\n      tcp: 127.0.0.1:80\n      failures: 0\n', line: 6, key: 'services[0].health.failures', message: /≥ 1/ },
  { what: 'a negative size', yaml: '    max_memory: -5GB\n', line: 4, key: 'services[0].max_memory', message: /expected a size/ },
  { what: 'an exit code outside 0–255', yaml: '    restart_exit_codes: [75, 300]\n', line: 4, key: 'services[0].restart_exit_codes[1]', message: /exit code 0–255/ },
  { what: 'a negative exit code', yaml: '    success_exit_codes: [-1]\n', line: 4, key: 'services[0].success_exit_codes[0]', message: /exit code 0–255/ },
  { what: 'a health section without a probe', yaml: '    health:\n      interval: 5s\n', line: 4, key: 'services[0].health', message: /one of http:, tcp:, command: or output_silence:/ },
  { what: 'expect_status beside tcp', yaml: '    health:\n      tcp: 127.0.0.1:80\n      expect_status: 200\n', line: 6, key: 'services[0].health.expect_status', message: /http probes only/ },
];

describe('health config: refused like every config error (file:line, key, exit 2)', () => {
  for (const bad of BAD) {
    test(bad.what, () => {
      const file = write(`bad-${bad.what.replace(/\W+/g, '-')}.yaml`, bad.yaml);
      const found = problems(file);
      assert.equal(found.length, 1, JSON.stringify(found));
      const name = file.split('/').at(-1)!;
      assert.ok(found[0]!.startsWith(`${name}:${bad.line}: ${bad.key}: `), found[0]);
      assert.match(found[0]!, bad.message);
    });
  }
  test('through ./restart-control.ts config --check: exit 2, every problem in one run', () => {
    const file = write('bad-cli.yaml', '    health:\n      http: not-a-url\n      failures: 0\n    max_memory: -1\n    restart_exit_codes: [256]\n');
    const result = spawnSync(CLI, ['config', '--check', '--config', file], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 2, result.stderr);
    for (const key of ['services[0].health.http', 'services[0].health.failures', 'services[0].max_memory', 'services[0].restart_exit_codes[0]']) {
      assert.match(result.stderr, new RegExp(`bad-cli\\.yaml:\\d+: ${key.replace(/[[\].]/g, '\\$&')}: `), result.stderr);
    }
  });
});
