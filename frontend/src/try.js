// "Try it": evaluate the loss, with the parameters of the form, on arrays pasted by the user
// (POST /v1/evaluate with statistics, per-sample losses and the gradient).
import { api } from "./api.js";
import { h, number, replace, showError } from "./dom.js";
import { examples } from "./domains.js";

const SHOWN = 50;

// JSON (nested lists, null for a missing value) or numbers separated by spaces, commas or newlines.
export function parseArray(text, what) {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    try {
      return JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`${what}: not valid JSON (${error.message})`);
    }
  }
  const tokens = trimmed.split(/[\s,;]+/).filter(Boolean);
  const bad = tokens.find((t) => Number.isNaN(Number(t)));
  if (bad !== undefined) throw new Error(`${what}: '${bad}' is not a number`);
  return tokens.map(Number);
}

const preview = (values) =>
  JSON.stringify(values.slice(0, SHOWN)) + (values.length > SHOWN ? ` … (${values.length} in all)` : "");

function resultView(result) {
  const stats = result.stats;
  const rows = [
    ["value", number(result.value)],
    ["samples that count", result.count],
    ["weight sum", number(result.weight_sum)],
    ["omitted, ignored, clipped", `${result.omitted}, ${result.ignored}, ${result.clipped}`],
  ];
  if (stats) {
    rows.push(["mean ± std", `${number(stats.mean)} ± ${number(stats.std)}`], ["min, max", `${number(stats.min)}, ${number(stats.max)}`]);
    for (const [q, v] of Object.entries(stats.quantiles)) rows.push([`quantile ${q}`, number(v)]);
  }
  if (result.per_sample) rows.push(["per-sample losses", preview(result.per_sample)]);
  if (result.gradient) rows.push(["gradient", preview(result.gradient)]);
  return h(
    "table",
    { class: "result", "data-testid": "try-result", "data-value": String(result.value) },
    h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v))))),
  );
}

// `params` is the entry's parameter form; `mode` the input mode the examples are written for.
export function tryForm(entry, params, mode) {
  const example = examples(entry, mode);
  const area = (name, value, placeholder) =>
    h("textarea", { name, rows: 3, spellcheck: false, "data-try": name, placeholder, "aria-label": name }, value);
  const predictions = area("predictions", example.predictions, "0.2 1.5 -0.7 or [[...], ...]");
  const targets = area("targets", example.targets, "the targets, same form");
  const weights = area("weights", "", "optional: one weight per sample");
  const reduction = h("select", { name: "reduction", "data-try": "reduction" },
    entry.reductions.map((r) => h("option", { value: r }, r)));
  const output = h("div", { class: "try-output" });

  async function submit(event) {
    event.preventDefault();
    let body;
    try {
      body = {
        losses: [{ name: entry.name, ...params.values() }],
        predictions: parseArray(predictions.value, "predictions"),
        targets: parseArray(targets.value, "targets"),
        reduction: reduction.value,
        include: ["stats", "per_sample", "gradient"],
      };
      if (weights.value.trim()) body.weights = parseArray(weights.value, "weights");
    } catch (error) {
      return replace(output, h("div", { class: "problem", role: "alert", "data-testid": "problem" }, error.message));
    }
    try {
      const answer = await api("evaluate", { method: "POST", body });
      replace(output, resultView(answer.results[0]));
    } catch (error) {
      showError(output, error);
    }
  }

  return h(
    "form",
    { class: "try", "data-testid": "try-form", onsubmit: submit },
    h("h3", {}, "Try it"),
    h("div", { class: "try-inputs" },
      h("label", {}, "predictions", predictions),
      h("label", {}, "targets", targets),
      h("label", {}, "weights", weights)),
    h("div", { class: "controls" }, h("label", {}, "reduction ", reduction), h("button", { type: "submit" }, "Evaluate")),
    output,
  );
}
