// openapi-validate.mjs -- validates OpenAPI 3.1 documents (JSON files) against the OpenAPI
// Initiative's schema for 3.1 with its Schema Object dialect ("schema-base"): the structure of
// the document, and every schema in it as JSON Schema 2020-12 with the OpenAPI vocabulary. The
// plain 3.1 schema lets any object pass as a schema; this one does not. Validated by
// @hyperjump/json-schema, which implements $dynamicRef as that schema needs and holds it, so
// nothing is fetched. Run by tests/openapi-check.sh.
//
//   node tests/openapi-validate.mjs FILE...
//
// Prints, per file, "FILE: valid" or "FILE: invalid" and the first failures, each as the
// location in the document and the rule of the schema it breaks. Exits 0 only if all are valid.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

// The package is installed under deps/npm (scripts/deps.sh), not beside this file.
const fromDeps = createRequire(new URL("../deps/npm/package.json", import.meta.url));
const { validate } = await import(
  pathToFileURL(fromDeps.resolve("@hyperjump/json-schema/openapi-3-1")).href
);
const schemaBase = "https://spec.openapis.org/oas/3.1/schema-base";
const shown = 10;

async function check(file) {
  const doc = JSON.parse(await readFile(file, "utf8"));
  const output = await validate(schemaBase, doc, "BASIC");
  if (output.valid) {
    console.log(`${file}: valid`);
    return true;
  }
  console.log(`${file}: invalid`);
  for (const e of output.errors.slice(0, shown))
    console.log(`  ${decodeURIComponent(e.instanceLocation)}: ${e.absoluteKeywordLocation}`);
  if (output.errors.length > shown) console.log(`  ... ${output.errors.length - shown} more`);
  return false;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node tests/openapi-validate.mjs FILE...");
  process.exit(2);
}
let ok = true;
for (const file of files) ok = (await check(file)) && ok;
process.exit(ok ? 0 : 1);
