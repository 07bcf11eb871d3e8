// Validate glTF/GLB files with the Khronos glTF-Validator.
// Usage: node tools/validate.mjs FILE...  -> one JSON object on stdout:
// {"files": {path: {"errors": n, "warnings": n, "infos": n, "messages": [...]}}, "version": "..."}
// Exit code 0 when every file has zero errors, 1 otherwise, 2 on bad usage.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const validator = require("gltf-validator");

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tools/validate.mjs FILE...");
  process.exit(2);
}

const out = { version: validator.version(), files: {} };
let failed = false;
for (const file of files) {
  try {
    const bytes = new Uint8Array(await readFile(file));
    const report = await validator.validateBytes(bytes, { uri: path.basename(file), maxIssues: 50 });
    const issues = report.issues;
    const messages = issues.messages.map((m) => `${["ERROR", "WARNING", "INFO", "HINT"][m.severity]} ${m.code} ${m.pointer ?? ""}: ${m.message}`);
    out.files[file] = { errors: issues.numErrors, warnings: issues.numWarnings, infos: issues.numInfos, messages };
    if (issues.numErrors > 0) failed = true;
  } catch (err) {
    out.files[file] = { errors: 1, warnings: 0, infos: 0, messages: [`ERROR cannot read or parse: ${err}`] };
    failed = true;
  }
}
console.log(JSON.stringify(out));
process.exit(failed ? 1 : 0);
