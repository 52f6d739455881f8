// Finds a Chromium/Chrome with WebGPU for the e2e tests. Order: $CHROME_PATH, Debian's chromium,
// an installed Chrome. None found: as root on Debian, install Debian's chromium (with SwiftShader,
// which gives headless WebGPU without a GPU); otherwise stop and print the exact command.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/opt/google/chrome/chrome',
];
/** Flags verified to give headless WebGPU on SwiftShader (CONTRIBUTING.md, "WebGPU without a GPU"); with a real GPU
 * Chromium uses it instead. The e2e tests and `bench:scale --browser` launch with these. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y chromium libvulkan1';

export function findBrowser() {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROME_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  return CANDIDATES.find((path) => existsSync(path)) ?? null;
}

function isRootOnDebian() {
  return process.getuid?.() === 0 && existsSync('/etc/debian_version');
}

/** Returns a browser path, installing Debian's chromium when that is possible without asking. */
export function ensureBrowser() {
  const found = findBrowser();
  if (found) return found;
  if (!isRootOnDebian()) {
    console.error(
      `No Chromium or Chrome found for the e2e tests. Install one:\n  ${INSTALL_COMMAND}\nor set CHROME_PATH.`,
    );
    process.exit(1);
  }
  console.log(
    'No browser found: installing Debian chromium (SwiftShader gives WebGPU without a GPU)…',
  );
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium', 'libvulkan1'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  const installed = findBrowser();
  if (!installed) throw new Error('apt-get installed chromium but /usr/bin/chromium is missing');
  return installed;
}
