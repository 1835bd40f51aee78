#!/usr/bin/env node
'use strict';
// The CLI is compiled TypeScript (npm install / npm ci run the build through "prepare").
require('../dist/src/cli.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
);
