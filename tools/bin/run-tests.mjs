#!/usr/bin/env node
// `npm test`: every layer — lint, types, unit (Node), gpu (Node on WebGPU via SwiftShader), the
// demo-model tool's smoke run, and e2e (the built app in headless Chromium). Two tracks run side by
// side on the two cores CI has: the build and e2e (the longest stage, streamed as it runs), and
// the Node stages one after another (each one's output printed when it ends), at a lower priority
// so that e2e, the longer track, is not slowed by them. TEST_SERIAL=1 runs the tracks one after
// the other instead.
// Every stage runs even when an earlier one fails, so one run shows everything that is broken.
// Ends with a table of each stage's time and the line `N passed, N failed`. A skipped test counts
// as failed: no test here may skip itself because WebGPU or a browser is missing.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { getPriority, loadavg, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { ensureBrowser } from '../lib/browser.mjs';

const RESULTS = 'test-results';
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const DEMO_MODEL_SMOKE = 'tools/demo-model/smoke.sh';
const SERIAL = process.env.TEST_SERIAL === '1';
/** The Node stages' niceness beside e2e (their processes inherit it). */
const NODE_TRACK_NICENESS = 5;

const tally = { passed: 0, failed: 0, skipped: 0 };
const failures = [];
const timings = [];
const started = Date.now();
// The Node stages' logs and the vitest reports: not under test-results/, which Playwright empties
// when it starts (possibly while a Node stage is writing there).
const scratch = mkdtempSync(path.join(tmpdir(), 'ttrv-test-'));

const seconds = (ms) => (ms / 1000).toFixed(1);

/**
 * Runs one stage. `live`: its output goes straight to the terminal; otherwise to a log file,
 * printed whole when the stage ends (so two tracks never interleave line by line).
 */
function run(label, command, args, { env = {}, live = false, niceness = 0 } = {}) {
  const header = `\n=== ${label}: ${command} ${args.join(' ')}`;
  const t0 = Date.now();
  const logFile = path.join(scratch, `${label.replace(/\W+/g, '-')}.log`);
  let fd = null;
  if (live) console.log(header);
  else fd = openSync(logFile, 'w');
  const child = spawn(command, args, {
    stdio: live ? 'inherit' : ['ignore', fd, fd],
    env: { ...process.env, ...env },
  });
  if (niceness !== 0 && child.pid !== undefined) {
    try {
      setPriority(child.pid, Math.min(19, getPriority() + niceness));
    } catch {
      // Not allowed here: the stage runs at the default priority.
    }
  }
  return new Promise((resolve) => {
    const done = (ok) => {
      const t1 = Date.now();
      timings.push({ label, start: t0 - started, ms: t1 - t0, load: loadavg()[0], ok });
      if (!live) {
        closeSync(fd);
        console.log(`${header}  (ran ${seconds(t0 - started)} s – ${seconds(t1 - started)} s)`);
        process.stdout.write(readFileSync(logFile, 'utf8'));
      }
      resolve(ok);
    };
    child.on('error', (error) => {
      console.error(`${label}: ${error.message}`);
      done(false);
    });
    child.on('close', (code) => done(code === 0));
  });
}

function fail(label) {
  tally.failed += 1;
  failures.push(label);
}

const nodeNiceness = () => (SERIAL ? 0 : NODE_TRACK_NICENESS);

/** A stage with no per-test report (lint, types, a script) counts as one test. */
async function check(label, command, args) {
  if (await run(label, command, args, { niceness: nodeNiceness() })) tally.passed += 1;
  else fail(label);
}

function countReport(label, ok, file, read) {
  if (!existsSync(file)) {
    fail(`${label} (no report written)`);
    return;
  }
  let counts;
  try {
    counts = read(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    fail(`${label} (unreadable report: ${error.message})`);
    return;
  }
  tally.passed += counts.passed;
  tally.failed += counts.failed;
  tally.skipped += counts.skipped;
  if (counts.failed > 0 || counts.skipped > 0 || !ok) failures.push(label);
  if (!ok && counts.failed === 0) tally.failed += 1;
}

async function vitestProject(project) {
  const file = path.join(scratch, `${project}.json`);
  const ok = await run(
    `${project} tests`,
    'npx',
    [
      'vitest',
      'run',
      '--project',
      project,
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${file}`,
    ],
    { niceness: nodeNiceness() },
  );
  countReport(`${project} tests`, ok, file, (r) => ({
    passed: r.numPassedTests,
    failed: r.numFailedTests,
    skipped: r.numPendingTests + r.numTodoTests,
  }));
}

/** The one `vite build` of the run, then the e2e suite on it. */
async function buildAndE2e() {
  if (!(await run('build', 'npx', ['vite', 'build'], { live: true }))) {
    fail('build');
    return;
  }
  const file = `${RESULTS}/e2e.json`;
  const ok = await run('e2e tests', 'npx', ['playwright', 'test'], {
    env: { CI: '1' },
    live: true,
  });
  countReport('e2e tests', ok, file, (r) => ({
    passed: r.stats.expected + r.stats.flaky,
    failed: r.stats.unexpected,
    skipped: r.stats.skipped,
  }));
}

async function nodeStages() {
  // Biome and the import-graph rules, as `npm run lint` runs them.
  await check('lint', 'npm', ['run', '--silent', 'lint']);
  await check('types', 'npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']);
  await vitestProject('unit');
  await vitestProject('gpu');
  if (existsSync(DEMO_MODEL_SMOKE)) await check('demo-model smoke', 'bash', [DEMO_MODEL_SMOKE]);
}

rmSync(RESULTS, { recursive: true, force: true });
mkdirSync(RESULTS, { recursive: true });
// The browser package also brings the SwiftShader Vulkan driver the Node GPU tests use.
ensureBrowser();
if (!existsSync(SWIFTSHADER_ICD)) {
  console.error(`Missing ${SWIFTSHADER_ICD}: install Debian's chromium and libvulkan1.`);
  process.exit(1);
}

if (SERIAL) {
  await nodeStages();
  await buildAndE2e();
} else {
  await Promise.all([buildAndE2e(), nodeStages()]);
}
if (scratch.startsWith(path.join(tmpdir(), 'ttrv-test-'))) {
  rmSync(scratch, { recursive: true, force: true });
}

console.log(`\nstage               start s  seconds  load (1 min, at its end)`);
for (const t of [...timings].sort((a, b) => a.start - b.start)) {
  const status = t.ok ? '' : '  FAILED';
  console.log(
    `${t.label.padEnd(18)} ${seconds(t.start).padStart(8)} ${seconds(t.ms).padStart(8)}  ${t.load.toFixed(2)}${status}`,
  );
}
console.log(`${'total'.padEnd(18)} ${''.padStart(8)} ${seconds(Date.now() - started).padStart(8)}`);
if (failures.length > 0) console.log(`\nFailed stages: ${failures.join(', ')}`);
if (tally.skipped > 0) console.log(`${tally.skipped} skipped: skipped tests count as failed here.`);
console.log(`\n${tally.passed} passed, ${tally.failed + tally.skipped} failed`);
process.exit(failures.length === 0 && tally.skipped === 0 ? 0 : 1);
