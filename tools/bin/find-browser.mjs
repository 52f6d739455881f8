#!/usr/bin/env node
// `npm run test:e2e` starts here: prints the browser the e2e tests will launch, installing Debian's
// chromium first where that needs no question (tools/lib/browser.mjs), or stops with the command.
import { ensureBrowser } from '../lib/browser.mjs';

console.log(ensureBrowser());
