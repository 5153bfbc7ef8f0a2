#!/usr/bin/env node
// npm run test:stress: the whole suite N times in a row (default 3) while two CPU-bound busy loops run beside it,
// so races that need a loaded machine show up before CI meets them. Fails on the first failing run. For developers,
// not for .ci/run.
import { spawn } from 'node:child_process';

const runs = Number(process.env.STRESS_RUNS ?? 3);
const loops = Number(process.env.STRESS_LOOPS ?? 2);
const busy = Array.from({ length: loops }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopBusy = () => { for (const loop of busy) loop.kill('SIGKILL'); };
process.on('exit', stopBusy);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { stopBusy(); process.exit(130); });

function npmTest() {
  return new Promise((resolve) => {
    const child = spawn('npm', ['test'], { stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

for (let run = 1; run <= runs; run++) {
  const started = Date.now();
  console.log(`\n=== test:stress run ${run}/${runs} with ${loops} busy loops ===`);
  const code = await npmTest();
  console.log(`=== run ${run}/${runs}: exit ${code} in ${((Date.now() - started) / 1000).toFixed(0)} s ===`);
  if (code !== 0) {
    console.error(`test:stress: run ${run} of ${runs} failed`);
    process.exit(1);
  }
}
console.log(`test:stress: ${runs} of ${runs} runs passed under load`);
