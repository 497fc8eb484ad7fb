// A run: one chart per loss with every split as a line (train and validation together), a p50–p90
// band per split, the best step and the plateau stop marked, and the train-vs-validation gap below;
// by step or over time; the run's alert rules with their states. Dragging across a chart zooms every
// chart to that range by asking the service again (with max_points, so a long run stays fast); the
// page follows new batches by itself. Diagnostics have the service's default parameters, those of
// the runs list.
import { api, handledElsewhere } from "./api.js";
import { color, draw, marker, translucent } from "./chart.js";
import { DEFAULT_SPLIT, diagnose, listedDiagnostics, markedSplit, statusBadge, uniqueNames } from "./diagnostics.js";
import { h, number, replace, showError } from "./dom.js";
import { runHash, timeText } from "./runs.js";
import { autoInterval, byLoss, columns, INTERVALS, orderSplits, runLosses } from "./series.js";

export const REFRESH_MS = 2000;
// The next refresh waits at least this many times as long as the last one took, so that a long
// run's page leaves the service most of its time.
const SLOWDOWN = 4;
// Alert rules judge a window that ends now: their states are asked again this often even while no
// batch arrives.
const ALERTS_MS = 30_000;
// A point every two pixels of the chart's width, within these bounds.
const PIXELS_PER_POINT = 2;
const MAX_POINTS = [50, 1000];
const GAP_STROKE = "#475569";

const path = (run, tail = "") => `runs/${encodeURIComponent(run)}${tail}`;

// The whole steps of a zoom (a range of the x scale).
const stepRange = (zoom) => [Math.max(0, Math.floor(zoom.min)), Math.ceil(zoom.max)];

function seriesQuery(state, width) {
  const [low, high] = MAX_POINTS;
  const points = Math.round(width / PIXELS_PER_POINT);
  const query = [["by", state.by], ["max_points", String(Math.max(low, Math.min(high, points)))]];
  const zoom = state.zoom;
  if (state.by === "step") {
    if (zoom) {
      const [from, to] = stepRange(zoom);
      query.push(["step_from", String(from)], ["step_to", String(to)]);
    }
    return query;
  }
  const iso = (seconds) => new Date(seconds * 1000).toISOString();
  const [first, last] = zoom ? [iso(zoom.min), iso(zoom.max)] : [state.run.first_time, state.run.last_time];
  query.push(["interval", String(state.interval === "auto" ? autoInterval(first, last) : state.interval)]);
  if (zoom) query.push(["from", first], ["to", last]);
  return query;
}

function lossChartConfig(state, panel, splits) {
  const series = [];
  const bands = [];
  for (const split of splits) {
    const stroke = state.colors.get(split);
    const base = series.length + 1;
    series.push(
      { label: split, stroke, width: 2, spanGaps: true },
      { label: `${split} p50`, stroke: translucent(stroke, 0.6), width: 1, dash: [4, 4], spanGaps: true },
      { label: `${split} p90`, stroke: translucent(stroke, 0.6), width: 1, dash: [2, 3], spanGaps: true },
    );
    bands.push({ series: [base + 2, base + 1], fill: translucent(stroke, 0.12) });
  }
  return {
    key: `${state.by}|${state.log}|${splits.join(",")}`,
    series,
    bands,
    x: state.by === "step" ? { label: "step", integer: true, range: covering(panel) } : { label: "time", time: true },
    y: { label: panel.loss.label, log: state.log },
    // What was drawn is kept on the chart (u.markers), so that it can be checked.
    draw: (u) => {
      u.markers = panel.markers
        .filter((m, row) => marker(u, m.step, m.label, state.colors.get(m.split) ?? GAP_STROKE, row))
        .map((m) => ({ ...m, left: u.valToPos(m.step, "x") }));
    },
    select: (min, max) => state.zoomTo(min, max),
  };
}

// By step, the x scale spans every step the points cover (a merged point stands at the middle of
// its steps), so that a marker on the first or last steps is drawn.
function covering(panel) {
  return (u, min, max) => {
    const [from, to] = panel.span ?? [min, max];
    const low = Math.min(min, from);
    const high = Math.max(max, to);
    return low < high ? [low, high] : [low - 1, high + 1];
  };
}

function drawLoss(state, panel, seriesOfLoss) {
  const { xs, splits } = columns(seriesOfLoss, state.by);
  const points = seriesOfLoss.flatMap((s) => s.points);
  panel.span = state.by === "step" && points.length
    ? [Math.min(...points.map((p) => p.step)), Math.max(...points.map((p) => p.step_to ?? p.step))]
    : null;
  panel.chart.dataset.split = splits.map((s) => s.split).join(" ");
  panel.chart.dataset.points = splits.map((s) => s.points).join(" ");
  if (!xs.length) {
    panel.chart.uplot?.destroy();
    delete panel.chart.uplot;
    replace(panel.chart, h("p", { class: "muted" }, "No points in this range."));
    return;
  }
  // A log scale has no place for values <= 0: they are left out of the drawing.
  const scale = state.log ? (column) => column.map((v) => (v > 0 ? v : null)) : (column) => column;
  const data = [xs, ...splits.flatMap((s) => [s.value, s.p50, s.p90].map(scale))];
  draw(panel.chart, lossChartConfig(state, panel, splits.map((s) => s.split)), data);
}

// The status, the best step and the plateau stop of a loss: from its diagnostics answer, or, for a
// loss the service cannot diagnose by name (one loss twice in a run), from the run's own listing.
function showDiagnostics(state, panel, answer) {
  const listed = listedDiagnostics(state.run, panel.loss.key);
  const status = answer?.status ?? listed?.status ?? null;
  replace(panel.status, statusBadge(status, panel.loss.name, panel.loss.params));
  const figures = answer ? markedSplit(answer) : listed?.best_step != null ? { split: DEFAULT_SPLIT, ...listed } : null;
  panel.markers = [];
  const facts = [];
  if (figures) {
    facts.push(`best ${figures.split}: ${number(figures.best_value)} at step ${figures.best_step}`);
    facts.push(figures.stop_step === null ? "no plateau stop" : `plateau stop at step ${figures.stop_step}`);
    if (state.by === "step") {
      panel.markers.push({ kind: "best", split: figures.split, step: figures.best_step, label: `best ${figures.split}` });
      if (figures.stop_step !== null) panel.markers.push({ kind: "stop", split: figures.split, step: figures.stop_step, label: "plateau stop" });
    }
  }
  if (answer?.gap?.last != null) facts.push(`gap ${answer.split} − ${answer.reference_split} at step ${answer.gap.steps.at(-1)}: ${number(answer.gap.last)}`);
  replace(panel.facts, facts.join(" · "));
}

// By step, the gap chart shows the x range of the loss chart above it.
function alignedRange(state, panel) {
  return (u, min, max) => {
    const main = panel.chart.uplot?.scales.x;
    if (state.by === "step" && main && main.min < main.max) return [main.min, main.max];
    return min < max ? [min, max] : [min - 1, max + 1];
  };
}

function drawGap(state, panel, answer) {
  const gap = answer?.gap;
  const clear = (text) => {
    panel.gap.uplot?.destroy();
    delete panel.gap.uplot;
    delete panel.gap.dataset.chartKey;
    panel.gap.dataset.points = "0";
    replace(panel.gap, h("p", { class: "muted" }, text));
  };
  if (!answer) {
    const twice = !uniqueNames(state.run).has(panel.loss.name);
    clear(twice ? `No gap: diagnostics take a loss by name, and this run has ${panel.loss.name} more than once.` : "");
    return;
  }
  let { steps, values } = gap;
  if (state.by === "step" && state.zoom) {
    const [from, to] = stepRange(state.zoom);
    const inside = steps.map((step) => step >= from && step <= to);
    steps = steps.filter((_, i) => inside[i]);
    values = values.filter((_, i) => inside[i]);
  }
  if (!steps.length) {
    clear(gap.steps.length ? "No gap in this range." : `No gap: no step has both ${answer.split} and ${answer.reference_split}.`);
    return;
  }
  panel.gap.dataset.points = String(steps.length);
  panel.gap.dataset.split = `${answer.split} ${answer.reference_split}`;
  draw(
    panel.gap,
    {
      key: `gap|${state.by}`,
      height: 160,
      series: [{ label: `gap: ${answer.split} − ${answer.reference_split}`, stroke: GAP_STROKE, width: 1.5, spanGaps: true }],
      x: { label: "step", integer: true, range: alignedRange(state, panel) },
      y: { label: "gap" },
      legend: false,
    },
    [steps, values],
  );
}

const windowText = (seconds) => {
  const units = [[86400, "d"], [3600, "h"], [60, "min"]];
  const [size, unit] = units.find(([size]) => seconds % size === 0) ?? [1, "s"];
  return `${seconds / size} ${unit}`;
};

// The run's alert rules, with their states where the service judged them (`states`: the alerts of a
// diagnostics answer) and without otherwise.
function alertsTable(rules, states) {
  if (!rules.length) return null;
  const judged = new Map((states ?? []).map((s) => [s.name, s]));
  const rows = rules.map((rule) => {
    const state = judged.get(rule.name);
    return h("tr", { "data-testid": "alert-rule", "data-rule": rule.name, "data-state": state?.state ?? "" },
      h("td", {}, rule.name), h("td", {}, h("code", {}, rule.loss)), h("td", {}, rule.split), h("td", {}, windowText(rule.window)),
      h("td", {}, `${rule.reduction} > ${number(rule.max)}`),
      h("td", {}, h("span", { class: `alert-state alert-${state?.state ?? "unknown"}` }, state ? state.state.replace("_", " ") : "—")),
      h("td", {}, state ? number(state.value) : "—"), h("td", {}, state ? String(state.batches) : "—"));
  });
  return h("section", { class: "alerts" },
    h("h2", {}, "Alert rules"),
    h("table", { "data-testid": "alerts" },
      h("thead", {}, h("tr", {}, ["rule", "loss", "split", "window", "alert when", "state", "value", "batches"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)));
}

// `loss`: {key, name, params, label}, one of the run's losses.
function panelFor(loss) {
  const params = JSON.stringify(loss.params);
  const hooks = { "data-loss": loss.name, "data-params": params, "data-split": "", "data-points": "" };
  const panel = {
    loss,
    markers: [],
    status: h("span"),
    facts: h("p", { class: "facts", "data-testid": "facts" }),
    chart: h("div", { class: "chart", "data-testid": "chart", ...hooks }),
    gap: h("div", { class: "chart gap", "data-testid": "gap", ...hooks }),
    message: h("div"),
  };
  panel.element = h("section", { class: "loss-panel", "data-loss": loss.name, "data-params": params },
    h("h2", {}, loss.label, " ", panel.status), panel.facts, panel.message, panel.chart, panel.gap);
  return panel;
}

function header(run) {
  const facts = [
    ["batches", run.batches],
    ["splits", (run.splits ?? []).join(", ") || "—"],
    ["last step", run.last_step ?? "—"],
    ["first batch", run.first_time ?? "—"],
    ["last batch", timeText(run.last_time)],
    ["quantile accuracy", run.quantile_relative_accuracy ?? "—"],
  ];
  const tags = Object.entries(run.tags ?? {}).map(([k, v]) => h("a", { class: "chip", href: `#/runs?tag=${encodeURIComponent(`${k}:${v}`)}` }, `${k}:${v}`));
  return [
    h("h1", {}, h("a", { href: "#/runs" }, "Runs"), " / ", h("a", { href: runHash(run.name) }, run.name)),
    run.description ? h("p", {}, run.description) : null,
    h("p", {}, tags),
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
  ];
}

// What the page shows of a run, but its statuses and latest values, which follow its batches.
const shown = (run) => JSON.stringify([run.batches, run.last_time, run.tags, run.description, run.alerts]);
const changed = (before, now) => shown(before) !== shown(now);

export function render(container, { name }) {
  const state = { run: null, by: null, interval: "auto", log: false, zoom: null, colors: new Map(), panels: new Map(), alertsAt: 0 };
  let alive = true;
  let timer = null;
  let controller = null;
  const top = h("div");
  const alerts = h("div");
  const controls = h("div", { class: "controls" });
  const message = h("div");
  const panels = h("div", { class: "panels" });
  const live = h("span", { class: "muted", "data-testid": "updated" });
  const merged = h("span", { class: "muted", "data-testid": "merged" });
  replace(container, top, alerts, controls, message, panels);

  // The losses asked for diagnostics: every loss the service can diagnose by name when the run has
  // steps; without steps there is nothing to diagnose, but one answer still judges the alert rules.
  function diagnosed(run, losses) {
    const names = uniqueNames(run);
    const possible = losses.filter((loss) => names.has(loss.name));
    if (run.last_step !== null) return possible;
    return run.alerts?.length ? possible.slice(0, 1) : [];
  }

  function showAlerts(states) {
    replace(alerts, alertsTable(state.run.alerts ?? [], states));
    if (states) state.alertsAt = Date.now();
  }

  async function load() {
    controller?.abort();
    controller = new AbortController();
    const signal = controller.signal;
    const run = state.run;
    const losses = runLosses(run);
    for (const loss of losses) {
      if (!state.panels.has(loss.key)) {
        const panel = panelFor(loss);
        state.panels.set(loss.key, panel);
        panels.append(panel.element);
      }
    }
    // Diagnostics change with the run's batches (and alert states with time): a zoom or another
    // view soon after reuses them.
    const asked = diagnosed(run, losses);
    const cached = state.diagnostics;
    const reuse = cached?.of === shown(run) && Date.now() - cached.at < ALERTS_MS ? cached.answers : null;
    const [series, ...answers] = await Promise.allSettled([
      api(path(run.name, "/series"), { query: seriesQuery(state, panels.clientWidth || 800), signal }),
      ...(reuse ?? asked.map((loss) => diagnose(run.name, loss.name, signal))),
    ]);
    if (signal.aborted || !alive) return;
    if (!reuse && answers.every((a) => a.status === "fulfilled")) {
      state.diagnostics = { of: shown(run), at: Date.now(), answers: answers.map((a) => a.value) };
    }
    if (series.status === "rejected") {
      showError(message, series.reason);
      return;
    }
    replace(message);
    const diagnostics = new Map(asked.map((loss, i) => [loss.key, answers[i]]));
    const groups = byLoss(series.value);
    for (const loss of losses) {
      const panel = state.panels.get(loss.key);
      const result = diagnostics.get(loss.key);
      const answer = result?.status === "fulfilled" ? result.value : null;
      if (result?.status === "rejected" && !handledElsewhere(result.reason)) showError(panel.message, result.reason);
      else replace(panel.message);
      showDiagnostics(state, panel, run.last_step === null ? null : answer);
      drawLoss(state, panel, groups.get(loss.key) ?? []);
      drawGap(state, panel, run.last_step === null ? null : answer);
    }
    const judged = answers.find((a) => a.status === "fulfilled");
    showAlerts(judged ? judged.value.alerts : null);
    merged.textContent = series.value.merged > 1 ? `each point merges ${series.value.merged} ${state.by === "step" ? "steps" : "buckets"}` : "";
    live.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  // Alert states change with time alone (a window slides past the last batch).
  async function refreshAlerts() {
    const [loss] = diagnosed(state.run, runLosses(state.run));
    if (!loss) return;
    try {
      showAlerts((await diagnose(state.run.name, loss.name)).alerts);
    } catch (error) {
      showError(message, error);
    }
  }

  function renderControls() {
    const run = state.run;
    const byChoice = (by, label, disabled) =>
      h("label", {}, h("input", { type: "radio", name: "by", value: by, checked: state.by === by, disabled, "data-testid": `by-${by}`,
        onchange: () => { state.by = by; state.zoom = null; renderControls(); load(); } }), ` ${label}`);
    const interval = h("select", { "data-testid": "interval", disabled: state.by !== "time",
      onchange: (e) => { state.interval = e.target.value; load(); } },
      h("option", { value: "auto" }, "interval: automatic"),
      INTERVALS.map(([seconds, label]) => h("option", { value: seconds, selected: String(seconds) === String(state.interval) }, label)));
    replace(
      controls,
      byChoice("step", "by step", run.last_step === null),
      byChoice("time", "over time", false),
      interval,
      h("label", {}, h("input", { type: "checkbox", checked: state.log, "data-testid": "log-scale",
        onchange: (e) => { state.log = e.target.checked; load(); } }), " log scale"),
      state.zoom
        ? h("button", { type: "button", "data-testid": "reset-zoom", onclick: () => { state.zoom = null; renderControls(); load(); } }, "Show the whole run")
        : h("span", { class: "muted" }, "drag across a chart to zoom"),
      merged,
      live,
    );
  }

  state.zoomTo = (min, max) => {
    state.zoom = { min, max };
    renderControls();
    load();
  };

  // Follows the run: when its batch count or last time changes, the series are asked for again.
  async function poll() {
    if (!alive) return;
    const started = performance.now();
    if (!document.hidden) {
      try {
        const run = await api(path(name));
        if (!alive) return;
        if (!state.run || changed(state.run, run)) {
          const first = !state.run;
          state.run = run;
          for (const split of orderSplits(run.splits ?? [])) {
            if (!state.colors.has(split)) state.colors.set(split, color(state.colors.size));
          }
          if (first) state.by = run.last_step === null ? "time" : "step";
          replace(top, header(run));
          renderControls();
          await load();
        } else if (state.run.alerts?.length && Date.now() - state.alertsAt > ALERTS_MS) {
          await refreshAlerts();
        }
      } catch (error) {
        showError(message, error);
        // A client error (no such run, no key) will not go away by asking again; the store being
        // unavailable (503) or the network failing may.
        if (error.status >= 400 && error.status < 500) return;
      }
    }
    if (alive) timer = setTimeout(poll, Math.max(REFRESH_MS, SLOWDOWN * (performance.now() - started)));
  }
  poll();

  return () => {
    alive = false;
    clearTimeout(timer);
    controller?.abort();
  };
}
