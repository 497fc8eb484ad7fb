// Builds the dashboard into service/ui/static: one JavaScript and one CSS bundle named by their
// content hash, index.html pointing at them, the favicon, the licences of what the bundles include,
// and build.json, which records a hash of the sources so that a Python test can tell when the
// committed output is stale (tests/ui/test_build.py computes the same hash).
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "..", "service", "ui", "static");
const SOURCES = ["package.json", "package-lock.json", "build.mjs", "src"];

const sha256 = (data) => createHash("sha256").update(data).digest("hex");

async function files(relative) {
  const full = path.join(here, relative);
  const entries = await readdir(full, { withFileTypes: true }).catch(() => null);
  if (entries === null) return [relative];
  const nested = await Promise.all(entries.map((e) => files(path.posix.join(relative, e.name))));
  return nested.flat();
}

// sha256 over "path\0sha256(content)\n" for every source file, sorted by path.
async function sourcesHash() {
  const paths = (await Promise.all(SOURCES.map(files))).flat().sort();
  const lines = await Promise.all(paths.map(async (p) => `${p}\0${sha256(await readFile(path.join(here, p)))}\n`));
  return sha256(lines.join(""));
}

const uplot = JSON.parse(await readFile(path.join(here, "node_modules", "uplot", "package.json"), "utf8"));
const result = await build({
  entryPoints: [path.join(here, "src", "main.js")],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  banner: {
    js: `/*! Includes uPlot ${uplot.version} (MIT licence, see THIRD_PARTY_LICENSES.txt) */`,
    css: `/*! Includes uPlot ${uplot.version}'s CSS (MIT licence, see THIRD_PARTY_LICENSES.txt) */`,
  },
  entryNames: "app-[hash]",
  outdir: out,
  write: false,
  logLevel: "warning",
});

const outputs = new Map(result.outputFiles.map((f) => [path.basename(f.path), f.contents]));
const names = [...outputs.keys()];
const script = names.find((n) => n.endsWith(".js"));
const style = names.find((n) => n.endsWith(".css"));
const template = await readFile(path.join(here, "src", "index.html"), "utf8");
outputs.set("index.html", template.replace("{{script}}", script).replace("{{style}}", style));
outputs.set("favicon.svg", await readFile(path.join(here, "src", "favicon.svg")));
const licence = await readFile(path.join(here, "node_modules", "uplot", "LICENSE"), "utf8");
outputs.set("THIRD_PARTY_LICENSES.txt", `uPlot ${uplot.version} (https://github.com/leeoniya/uPlot)\n\n${licence}`);

const manifest = { sources: await sourcesHash(), files: {} };
for (const name of [...outputs.keys()].sort()) manifest.files[name] = sha256(outputs.get(name));
outputs.set("build.json", JSON.stringify(manifest, null, 2) + "\n");

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
for (const [name, contents] of outputs) await writeFile(path.join(out, name), contents);
console.log(`wrote ${[...outputs.keys()].join(", ")} to ${path.relative(process.cwd(), out)}`);
