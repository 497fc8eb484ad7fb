// A run: one chart per loss with every split as a line (train and validation together), a p50–p90
// band per split, the best step and the plateau stop marked, and the train-vs-validation gap; by step
// or over time. Dragging across a chart zooms every chart to that range by asking the service again
// (with max_points, so a long run stays fast); the page follows new batches by itself.
import { api } from "./api.js";
import { color, draw, marker, translucent } from "./chart.js";
import { diagnose, diagnosedSplits, diagnosticsAvailable, splitFigures } from "./diagnostics.js";
import { h, number, replace, showError } from "./dom.js";
import { runHash, statusBadge, timeText } from "./runs.js";
import { autoInterval, byLoss, columns, INTERVALS, orderSplits, runLosses } from "./series.js";

export const REFRESH_MS = 2000;
// A point every two pixels of the chart's width, within these bounds.
const PIXELS_PER_POINT = 2;
const MAX_POINTS = [50, 1000];

const path = (run, tail = "") => `runs/${encodeURIComponent(run)}${tail}`;

function seriesQuery(state, width) {
  const [low, high] = MAX_POINTS;
  const points = Math.round(width / PIXELS_PER_POINT);
  const query = [["by", state.by], ["max_points", String(Math.max(low, Math.min(high, points)))]];
  const zoom = state.zoom;
  if (state.by === "step") {
    if (zoom) query.push(["step_from", String(Math.max(0, Math.floor(zoom.min)))], ["step_to", String(Math.ceil(zoom.max))]);
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
    x: { label: state.by === "step" ? "step" : "time", time: state.by === "time" },
    y: { label: panel.loss.label, log: state.log },
    draw: (u) => {
      for (const [x, label, split] of panel.markers) marker(u, x, label, state.colors.get(split));
    },
    select: (min, max) => state.zoomTo(min, max),
  };
}

function drawLoss(state, panel, seriesOfLoss) {
  const { xs, splits } = columns(seriesOfLoss, state.by);
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

function drawDiagnostics(state, panel, answer) {
  const { split, reference } = diagnosedSplits(state.run.splits ?? []);
  const figures = splitFigures(answer, split);
  panel.markers = [];
  if (state.by === "step" && figures) {
    if (figures.best_step !== null) panel.markers.push([figures.best_step, `best ${split}`, split]);
    if (figures.stop_step !== null) panel.markers.push([figures.stop_step, "plateau stop", split]);
  }
  panel.chart.uplot?.redraw(false, false);
  replace(panel.status, statusBadge(answer.status, panel.loss.name));
  const gap = answer.gap;
  const facts = [];
  if (figures) {
    facts.push(`best ${split}: ${number(figures.best_value)} at step ${figures.best_step}`);
    facts.push(figures.stop_step === null ? "no plateau stop" : `plateau stop at step ${figures.stop_step}`);
  }
  if (gap?.last !== undefined && reference) facts.push(`gap ${split} − ${reference} at the last common step: ${number(gap.last)}`);
  replace(panel.facts, facts.join(" · "));
  if (reference && gap?.steps?.length) {
    draw(
      panel.gap,
      {
        key: "gap",
        height: 130,
        series: [{ label: `${split} − ${reference}`, stroke: "#475569", width: 1.5, spanGaps: true }],
        x: { label: "step" },
        y: { label: "gap" },
      },
      [gap.steps, gap.values],
    );
  }
}

// `loss`: {key, name, params, label}, one of the run's losses.
function panelFor(loss) {
  const params = JSON.stringify(loss.params);
  const panel = {
    loss,
    markers: [],
    status: h("span"),
    facts: h("p", { class: "facts", "data-testid": "facts" }),
    chart: h("div", { class: "chart", "data-testid": "chart", "data-loss": loss.name, "data-params": params, "data-split": "", "data-points": "" }),
    gap: h("div", { class: "chart gap" }),
    message: h("div"),
  };
  panel.element = h("section", { class: "loss-panel", "data-loss": loss.name },
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

export function render(container, { name }) {
  const state = { run: null, by: null, interval: "auto", log: false, zoom: null, colors: new Map(), panels: new Map() };
  let alive = true;
  let timer = null;
  let controller = null;
  const top = h("div");
  const controls = h("div", { class: "controls" });
  const message = h("div");
  const panels = h("div", { class: "panels" });
  const live = h("span", { class: "muted", "data-testid": "updated" });
  const merged = h("span", { class: "muted", "data-testid": "merged" });
  replace(container, top, controls, message, panels);

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
    try {
      const answer = await api(path(run.name, "/series"), { query: seriesQuery(state, panels.clientWidth || 800), signal });
      const groups = byLoss(answer);
      for (const loss of losses) drawLoss(state, state.panels.get(loss.key), groups.get(loss.key) ?? []);
      merged.textContent = answer.merged > 1 ? `each point merges ${answer.merged} ${state.by === "step" ? "steps" : "buckets"}` : "";
      replace(message);
    } catch (error) {
      showError(message, error);
      return;
    }
    live.textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (run.last_step === null || !(await diagnosticsAvailable())) return;
    await Promise.all(
      losses.map(async (loss) => {
        const panel = state.panels.get(loss.key);
        try {
          drawDiagnostics(state, panel, await diagnose(run, loss.name, signal));
          replace(panel.message);
        } catch (error) {
          showError(panel.message, error);
        }
      }),
    );
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
    if (!document.hidden) {
      try {
        const run = await api(path(name));
        const changed = !state.run || run.batches !== state.run.batches || run.last_time !== state.run.last_time;
        if (changed && alive) {
          const first = !state.run;
          state.run = run;
          for (const split of orderSplits(run.splits ?? [])) {
            if (!state.colors.has(split)) state.colors.set(split, color(state.colors.size));
          }
          if (first) state.by = run.last_step === null ? "time" : "step";
          replace(top, header(run));
          renderControls();
          await load();
        }
      } catch (error) {
        showError(message, error);
        // A client error (no such run, no key) will not go away by asking again; the store being
        // unavailable (503) or the network failing may.
        if (error.status >= 400 && error.status < 500) return;
      }
    }
    if (alive) timer = setTimeout(poll, REFRESH_MS);
  }
  poll();

  return () => {
    alive = false;
    clearTimeout(timer);
    controller?.abort();
  };
}
