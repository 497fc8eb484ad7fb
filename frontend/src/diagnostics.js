// GET /v1/runs/{run}/diagnostics for one loss, and the pieces the pages show from it.
import { api } from "./api.js";

const DIAGNOSTICS_PATH = "/v1/runs/{run}/diagnostics";
let available = null;

// Whether this service offers diagnostics: its OpenAPI document (open even with API keys) lists
// them. Pages ask before calling, so that a service without them draws its runs without errors.
export function diagnosticsAvailable() {
  available ??= fetch(new URL("../v1/openapi.json", document.baseURI), { credentials: "omit" })
    .then((response) => (response.ok ? response.json() : { paths: {} }))
    .then((contract) => DIAGNOSTICS_PATH in (contract.paths ?? {}))
    .catch(() => false);
  return available;
}

// The split diagnosed (validation when the run has one) and its reference (train).
export function diagnosedSplits(splits) {
  const split = splits.includes("validation") ? "validation" : splits[0];
  const reference = splits.includes("train") && split !== "train" ? "train" : null;
  return { split, reference };
}

export function diagnose(run, loss, signal) {
  const { split, reference } = diagnosedSplits(run.splits ?? []);
  const query = [["loss", loss]];
  if (split) query.push(["split", split]);
  if (reference) query.push(["reference_split", reference]);
  return api(`runs/${encodeURIComponent(run.name)}/diagnostics`, { query, signal });
}

// One split's figures (best_step, best_value, last_step, last_value, wait, stop_step).
export function splitFigures(answer, split) {
  const splits = answer.splits ?? {};
  if (Array.isArray(splits)) return splits.find((s) => s.split === split) ?? null;
  return splits[split] ?? null;
}
