/**
 * Codegen hook: turns the client preset's record of persisted documents (`sha256:<hex>` → text,
 * in src/gql/persisted-documents.json) into the manifest the server loads with TRUSTED_DOCUMENTS
 * (`<hex>` → text, in trusted-documents.json), checking that every hash is over the exact text
 * stored. The preset's file is removed, so the example has one manifest.
 */
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(__dirname, "..");
const recorded = path.join(root, "src/gql/persisted-documents.json");
const manifest = path.join(root, "trusted-documents.json");

const documents = JSON.parse(readFileSync(recorded, "utf8")) as Record<string, string>;
const trusted: Record<string, string> = {};
for (const [id, text] of Object.entries(documents)) {
  const hash = /^sha256:([0-9a-f]{64})$/.exec(id)?.[1];
  if (!hash) throw new Error(`${recorded}: "${id}" is not a sha256 document id (presetConfig.persistedDocuments.hashAlgorithm: sha256)`);
  if (createHash("sha256").update(text).digest("hex") !== hash) throw new Error(`${recorded}: the text of ${id} does not hash to its id`);
  trusted[hash] = text;
}
writeFileSync(manifest, `${JSON.stringify(trusted, null, 2)}\n`);
rmSync(recorded);
