// The shape of a loss: the loss and its gradient against a scalar prediction for a fixed target
// (POST /v1/losses/{name}/curve), with the loss's parameters from the form and overlays of other
// parameter sets or other losses: the classic plots, L1 vs L2 and Huber for several deltas.
import { api } from "./api.js";
import { color, draw } from "./chart.js";
import { debounce, h, replace, showError } from "./dom.js";
import { curveModes, curveRange, curveTarget, signTargets } from "./domains.js";

const POINTS = 201;

export const PRESETS = [
  ["L1 vs L2", "mean_absolute_error", ["mean_squared_error"]],
  ["Huber for several deltas", "huber", ["huber:delta=0.5", "huber:delta=2"]],
];

export const presetHash = (name, overlays) =>
  `#/catalogue/${name}?${overlays.map((o) => `overlay=${encodeURIComponent(o)}`).join("&")}`;

// "huber:delta=0.5,foo=true" -> {name: "huber", params: {delta: 0.5, foo: true}} (the command line's syntax).
export function parseSpec(text) {
  const [name, rest = ""] = text.split(":", 2);
  const params = {};
  for (const pair of rest.split(",").filter(Boolean)) {
    const [key, raw = ""] = pair.split("=", 2);
    try {
      params[key] = JSON.parse(raw);
    } catch {
      params[key] = raw;
    }
  }
  return { name, params };
}

const formatSpec = ({ name, params }) => {
  const pairs = Object.entries(params).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return pairs.length ? `${name}:${pairs.join(",")}` : name;
};

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The parameters that differ from the loss's defaults.
const changed = (entry, values) =>
  Object.fromEntries(Object.entries(values).filter(([k, v]) => !same(v, entry.parameters.properties[k]?.default)));

// Labels that tell the lines apart: each loss's parameters that differ from their defaults or
// between its lines.
function labels(lines, catalogue) {
  return lines.map((line) => {
    const defaults = catalogue.get(line.name).parameters.properties ?? {};
    const siblings = lines.filter((l) => l.name === line.name);
    const shown = Object.entries(line.resolved).filter(
      ([key, value]) => !same(value, defaults[key]?.default) || siblings.some((s) => !same(s.resolved[key], value)),
    );
    const text = shown.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
    return text ? `${line.name} (${text})` : line.name;
  });
}

// One request per loss (all its parameter sets at once); the answers in the order of `lines`.
async function fetchCurves(lines, grid, signal) {
  const names = [...new Set(lines.map((l) => l.name))];
  const answers = await Promise.all(
    names.map((name) =>
      api(`losses/${encodeURIComponent(name)}/curve`, {
        method: "POST",
        body: { ...grid, num: POINTS, params: lines.filter((l) => l.name === name).map((l) => l.params) },
        signal,
      }),
    ),
  );
  const remaining = new Map(names.map((name, i) => [name, [...answers[i].curves]]));
  return { x: answers[0].x, curves: lines.map((line) => remaining.get(line.name).shift()) };
}

function numberInput(name, value, onChange) {
  return h("input", { type: "number", step: "any", value, "data-curve": name, "aria-label": name, oninput: onChange });
}

// The curve section of a catalogue entry. `params` is the entry's parameter form; `catalogue` maps
// every name to its entry; `overlays` are spec strings from the page's address.
export function curveExplorer(entry, catalogue, params, overlays) {
  const modes = curveModes(entry);
  let mode = modes[0];
  let controller = null;
  const pinned = overlays.map(parseSpec).filter((spec) => catalogue.get(spec.name)?.curve);

  const target = h("span");
  const start = numberInput("start", 0, () => refresh());
  const stop = numberInput("stop", 0, () => refresh());
  const chips = h("span", { class: "chips" });
  const message = h("div");
  const lossChart = h("div", { class: "chart", "data-testid": "curve", "data-loss": entry.name });
  const gradientChart = h("div", { class: "chart", "data-testid": "curve-gradient", "data-loss": entry.name });
  const targetValue = () => Number(target.firstChild.value);

  function setMode(next) {
    mode = next;
    params.setFixed(mode.select);
    const [low, high] = curveRange(mode);
    start.value = low;
    stop.value = high;
    const value = curveTarget(mode);
    replace(
      target,
      signTargets(mode)
        ? h("select", { "data-curve": "target", "aria-label": "target", onchange: () => refresh() },
            [1, -1].map((v) => h("option", { value: v, selected: v === value }, v > 0 ? "+1" : "−1")))
        : numberInput("target", value, () => refresh()),
    );
  }

  function syncAddress() {
    const hash = pinned.length ? presetHash(entry.name, pinned.map(formatSpec)) : `#/catalogue/${entry.name}`;
    history.replaceState(null, "", hash);
  }

  function renderChips() {
    replace(
      chips,
      pinned.map((spec, i) =>
        h("span", { class: "chip", "data-testid": "overlay" }, formatSpec(spec), " ",
          h("button", { type: "button", class: "link", "aria-label": `remove ${formatSpec(spec)}`,
            onclick: () => { pinned.splice(i, 1); syncAddress(); renderChips(); refresh(); } }, "×")),
      ),
    );
  }

  const overlayChoice = h(
    "select",
    { "data-testid": "overlay-loss", "aria-label": "overlay a loss" },
    h("option", { value: "" }, "overlay another loss…"),
    [...catalogue.values()].filter((e) => e.curve && e.name !== entry.name).map((e) => h("option", { value: e.name }, e.name)),
  );
  overlayChoice.addEventListener("change", () => {
    const other = catalogue.get(overlayChoice.value);
    overlayChoice.value = "";
    if (!other) return;
    // The other loss's mode for the same kind of prediction (probabilities, logits, scores...).
    const match = curveModes(other).find((m) => m.predictions === mode.predictions) ?? curveModes(other)[0];
    pinned.push({ name: other.name, params: { ...match.select } });
    syncAddress();
    renderChips();
    refresh();
  });

  async function update() {
    controller?.abort();
    controller = new AbortController();
    const lines = [{ name: entry.name, params: params.values() }, ...pinned];
    const grid = { target: targetValue(), start: Number(start.value), stop: Number(stop.value) };
    try {
      const { x, curves } = await fetchCurves(lines, grid, controller.signal);
      lines.forEach((line, i) => (line.resolved = curves[i].params));
      const names = labels(lines, catalogue);
      const key = names.join("|");
      const series = () => names.map((label, i) => ({ label, stroke: color(i), width: i === 0 ? 2.5 : 1.75 }));
      const common = { key, sync: "curve", x: { label: "prediction" }, height: 280 };
      draw(lossChart, { ...common, series: series(), y: { label: "loss" } }, [x, ...curves.map((c) => c.value)]);
      draw(gradientChart, { ...common, series: series(), y: { label: "gradient" } }, [
        x,
        ...curves.map((c) => c.gradient ?? x.map(() => null)),
      ]);
      for (const chart of [lossChart, gradientChart]) {
        chart.dataset.points = String(x.length);
        chart.dataset.curves = String(curves.length);
      }
      replace(message);
    } catch (error) {
      showError(message, error);
    }
  }
  const refresh = debounce(update, 120);

  const modeChoice =
    modes.length > 1
      ? h("label", {}, "input ",
          h("select", { "data-curve": "mode", onchange: (e) => { setMode(modes[Number(e.target.value)]); refresh(); } },
            modes.map((m, i) => h("option", { value: i }, m.name))))
      : null;

  setMode(mode);
  renderChips();
  update();

  const element = h(
    "section",
    { class: "curve" },
    h("h3", {}, "Curve: loss and gradient against the prediction"),
    h(
      "div",
      { class: "controls" },
      modeChoice,
      h("label", {}, "target ", target),
      h("label", {}, "from ", start),
      h("label", {}, "to ", stop),
      h("button", { type: "button", "data-testid": "pin", onclick: () => {
        pinned.push({ name: entry.name, params: changed(entry, params.values()) });
        syncAddress();
        renderChips();
        refresh();
      } }, "Keep this curve"),
      overlayChoice,
    ),
    chips,
    message,
    h("div", { class: "pair" }, lossChart, gradientChart),
  );
  return { element, refresh };
}
