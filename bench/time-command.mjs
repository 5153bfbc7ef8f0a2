// Times a command's runs, process start included: `node bench/time-command.mjs RUNS FILE [ARGS...]` prints the
// milliseconds of each run as JSON. A small process of its own, so the fork of a large harness is not counted
// (forking a ~150 MB process costs ~10 ms on these VMs, more than the difference being measured).
import { spawnSync } from 'node:child_process';

const [runs, file, ...args] = process.argv.slice(2);
const samples = [];
for (let i = 0; i < Number(runs); i++) {
  const started = process.hrtime.bigint();
  const result = spawnSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  if (result.status !== 0) {
    process.stderr.write(`${file} exited ${result.status}: ${result.stderr}`);
    process.exit(1);
  }
}
process.stdout.write(`${JSON.stringify(samples)}\n`);
