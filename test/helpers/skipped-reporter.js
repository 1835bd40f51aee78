'use strict';
// A jest reporter (package.json "jest.reporters", after "default"): ends the run with every
// skipped test, by file, and why. The convention of this repository: a test that cannot run
// here is replaced by `test.skip('<why, and what would make it run>', …)`, so its title is the
// reason (e.g. "GDAL is not installed here: apt-get install -y gdal-bin"). A block skipped
// whole (describe.skip) lists its tests' names: its title must then say why.
// Plain JavaScript: jest loads reporters without the TypeScript transform.
const path = require('node:path');

const SKIPPED = new Set(['pending', 'skipped', 'todo', 'disabled']);

class SkippedReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
    this.forceExit = globalConfig.forceExit;
    // `jest -t pattern`: the tests it leaves out are reported skipped, for no reason worth listing
    this.pattern = globalConfig.testNamePattern || null;
  }

  onRunComplete(_contexts, results) {
    const files = [];
    for (const file of results.testResults) {
      const tests = file.testResults.filter((t) => SKIPPED.has(t.status));
      if (tests.length) files.push({ file: path.relative(this.rootDir, file.testFilePath), tests });
    }
    const count = files.reduce((n, f) => n + f.tests.length, 0);
    if (count === 0) return;
    const lines = this.pattern ? [`\n${count} tests not matching -t ${JSON.stringify(this.pattern)} were not run`] : [`\nSkipped tests (${count} in ${files.length} files) — each title says why:`];
    for (const { file, tests } of this.pattern ? [] : files.sort((a, b) => a.file.localeCompare(b.file))) {
      lines.push(`  ${file}`);
      for (const t of tests) lines.push(`    ${t.status === 'todo' ? '✎ todo:' : '○'} ${[...t.ancestorTitles, t.title].join(' › ')}`);
    }
    // after jest's summary (its reporter is always the last one called, in the same turn)
    const print = () => process.stderr.write(`${lines.join('\n')}\n`);
    if (this.forceExit) print();
    else setImmediate(print);
  }
}

module.exports = SkippedReporter;
