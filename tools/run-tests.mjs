#!/usr/bin/env node
// `npm test`: every layer, one after another — lint, types, unit (Node), gpu (Node on WebGPU via
// SwiftShader), the demo-model tool's smoke run, and e2e (the built app in headless Chromium).
// Every stage runs even when an earlier one fails, so one run shows everything that is broken.
// Ends with the line `N passed, N failed`. A skipped test counts as failed: no test here may
// skip itself because WebGPU or a browser is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ensureBrowser } from './find-browser.mjs';

const RESULTS = 'test-results';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const DEMO_MODEL_SMOKE = 'tools/demo-model/smoke.sh';

const tally = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

const timings = [];
const started = Date.now();

function run(label, command, args, env = {}) {
  console.log(`\n=== ${label}: ${command} ${args.join(' ')}`);
  const t0 = Date.now();
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  timings.push({
    label,
    seconds: (Date.now() - t0) / 1000,
    load: loadavg()[0],
    ok: result.status === 0,
  });
  return result.status === 0;
}

/** A stage with no per-test report (lint, types, a script) counts as one test. */
function check(label, command, args) {
  if (run(label, command, args)) tally.passed += 1;
  else {
    tally.failed += 1;
    failures.push(label);
  }
}

function countReport(label, ok, file, read) {
  if (!existsSync(file)) {
    tally.failed += 1;
    failures.push(`${label} (no report written)`);
    return;
  }
  const counts = read(JSON.parse(readFileSync(file, 'utf8')));
  tally.passed += counts.passed;
  tally.failed += counts.failed;
  tally.skipped += counts.skipped;
  if (counts.failed > 0 || counts.skipped > 0 || !ok) failures.push(label);
  if (!ok && counts.failed === 0) tally.failed += 1;
}

function vitestProject(project) {
  const file = `${RESULTS}/${project}.json`;
  const ok = run(`${project} tests`, 'npx', [
    'vitest',
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${file}`,
  ]);
  countReport(`${project} tests`, ok, file, (r) => ({
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    skipped: r.numPendingTests + r.numTodoTests,
  }));
}

function e2e() {
  const file = `${RESULTS}/e2e.json`;
  if (!run('build', 'npx', ['vite', 'build'])) {
    tally.failed += 1;
    failures.push('build');
    return;
  }
  const ok = run('e2e tests', 'npx', ['playwright', 'test'], { CI: '1' });
  countReport('e2e tests', ok, file, (r) => ({
    passed: r.stats.expected + r.stats.flaky,
    failed: r.stats.unexpected,
    skipped: r.stats.skipped,
  }));
}

rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });
// The browser package also brings the SwiftShader Vulkan driver the Node GPU tests use.
ensureBrowser();
if (!existsSync(SWIFTSHADER_ICD)) {
  console.error(`Missing ${SWIFTSHADER_ICD}: install Debian's chromium and libvulkan1.`);
  process.exit(1);
}

check('lint', 'npx', ['biome', 'check', '.']);
check('types', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
vitestProject('unit');
vitestProject('gpu');
if (existsSync(DEMO_MODEL_SMOKE)) check('demo-model smoke', 'bash', [DEMO_MODEL_SMOKE]);
e2e();

console.log('\nstage                 seconds  load(1 min, at end)');
for (const t of timings) {
  console.log(
    `${t.label.padEnd(20)} ${t.seconds.toFixed(1).padStart(8)}  ${t.load.toFixed(2)}${t.ok ? '' : '  FAILED'}`,
  );
}
console.log(`${'total'.padEnd(20)} ${((Date.now() - started) / 1000).toFixed(1).padStart(8)}`);
if (failures.length > 0) console.log(`\nFailed stages: ${failures.join(', ')}`);
if (tally.skipped > 0) console.log(`${tally.skipped} skipped: skipped tests count as failed here.`);
console.log(`\n${tally.passed} passed, ${tally.failed + tally.skipped} failed`);
process.exit(failures.length === 0 && tally.skipped === 0 ? 0 : 1);
