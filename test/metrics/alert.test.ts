/** The README's PromQL alert, checked by Debian's promtool: it fires on the 4th restart within 10 minutes, not the 3rd. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTempDir } from '../helpers.ts';
import { ROOT } from '../support.ts';

const temp = makeTempDir('rc-alert-');
after(() => temp.remove());

/** The alert as the README shows it: its yaml block starting at `- alert: ServiceRestartLoop`. */
function readmeAlert(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const match = /```yaml\n(- alert: ServiceRestartLoop\n[\s\S]*?)```/.exec(readme);
  assert.ok(match, 'README shows the ServiceRestartLoop alert in a yaml block');
  return match[1]!;
}

test('the README alert fires for more than 3 restarts in 10 minutes', (t) => {
  if (spawnSync('promtool', ['--version']).status !== 0) return t.skip('promtool is not installed (Debian package prometheus)');
  const rules = join(temp.path, 'rules.yml');
  writeFileSync(rules, `groups:\n  - name: restart-control\n    rules:\n${readmeAlert().replace(/^/gm, '      ').trimEnd()}\n`);
  // One sample a minute: "loop" restarts 4 times in minutes 1-4, "calm" 3 times
  const tests = join(temp.path, 'tests.yml');
  writeFileSync(tests, `rule_files: [${rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'restartctl_service_restarts_total{service="loop",reason="crash"}'
        values: '0 1 2 3 4 4 4 4 4 4 4'
      - series: 'restartctl_service_restarts_total{service="calm",reason="crash"}'
        values: '0 1 2 3 3 3 3 3 3 3 3'
    alert_rule_test:
      - eval_time: 6m
        alertname: ServiceRestartLoop
        exp_alerts:
          - exp_labels: { service: loop, severity: warning }
            exp_annotations: { summary: "loop restarted 4 times in 10 minutes" }
`);
  const result = spawnSync('promtool', ['test', 'rules', tests], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});
