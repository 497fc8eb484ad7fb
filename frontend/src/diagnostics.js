// Diagnostics with the service's default parameters (validation against train, patience 10): the
// ones GET /v1/runs gives per loss, so that the runs list and a run page always agree.
import { api } from "./api.js";
import { h } from "./dom.js";
import { lossKey } from "./series.js";

// The split the service diagnoses by default.
export const DEFAULT_SPLIT = "validation";

// GET /v1/runs/{run}/diagnostics for the loss called `name`, which must be the only loss of that
// name in the run (the service cannot tell two parameter sets of one loss apart by name).
export const diagnose = (run, name, signal) =>
  api(`runs/${encodeURIComponent(run)}/diagnostics`, { query: [["loss", name]], signal });

// The loss names that appear once in the run: those the diagnostics endpoint takes.
export function uniqueNames(run) {
  const counts = new Map();
  for (const { name } of run.losses ?? []) counts.set(name, (counts.get(name) ?? 0) + 1);
  return new Set([...counts].filter(([, count]) => count === 1).map(([name]) => name));
}

// A loss's entry of the run's `diagnostics` (status, best_step, best_value, stop_step), by key.
export const listedDiagnostics = (run, key) =>
  (run.diagnostics ?? []).find((d) => lossKey(d.loss, d.params) === key) ?? null;

// One split's early-stopping figures in a diagnostics answer.
export const splitFigures = (answer, split) => (answer.splits ?? []).find((s) => s.split === split) ?? null;

// The split whose best step and plateau stop a chart marks: the diagnosed split (validation), or its
// reference (train) when the run has no step of the diagnosed one.
export function markedSplit(answer) {
  for (const split of [answer.split, answer.reference_split]) {
    const figures = splitFigures(answer, split);
    if (figures?.points) return figures;
  }
  return null;
}

export const statusBadge = (status, loss, params) =>
  h("span", {
    class: `status status-${status ?? "unknown"}`,
    "data-testid": "status",
    "data-loss": loss,
    "data-params": params === undefined ? null : JSON.stringify(params),
    "data-status": status ?? "",
  }, status ? status.replace("_", " ") : "—");
