// The catalogue page: every loss, and for one loss its formula, parameters, equivalents in other
// libraries, its curve and a "try it" form.
import { api, ProblemError } from "./api.js";
import { curveExplorer, PRESETS, presetHash } from "./curve.js";
import { h, replace, showError } from "./dom.js";
import { curveModes } from "./domains.js";
import { paramsForm } from "./params.js";
import { tryForm } from "./try.js";

let cached = null;

// The catalogue as a Map(name -> entry), fetched once per page load.
async function catalogue() {
  if (!cached) {
    const answer = await api("losses");
    cached = new Map(answer.losses.map((entry) => [entry.name, entry]));
  }
  return cached;
}

const resolve = (entries, name) =>
  entries.get(name) ?? [...entries.values()].find((e) => e.aliases.includes(name)) ?? null;

function sidebar(entries, current) {
  const filter = h("input", { type: "search", placeholder: "filter", "aria-label": "filter losses", "data-testid": "loss-filter" });
  const families = new Map();
  for (const entry of entries.values()) {
    if (!families.has(entry.family)) families.set(entry.family, []);
    families.get(entry.family).push(entry);
  }
  const items = [];
  const groups = [...families].map(([family, members]) =>
    h("div", { class: "family" }, h("h4", {}, family),
      h("ul", {}, members.map((entry) => {
        const item = h("li", { "data-names": [entry.name, ...entry.aliases].join(" ") },
          h("a", { href: `#/catalogue/${entry.name}`, class: entry === current ? "active" : null, "data-testid": "loss-link" }, entry.name));
        items.push(item);
        return item;
      }))),
  );
  filter.addEventListener("input", () => {
    const text = filter.value.trim().toLowerCase();
    for (const item of items) item.hidden = text !== "" && !item.dataset.names.toLowerCase().includes(text);
  });
  return h("nav", { class: "losses" }, filter, groups);
}

const table = (head, rows) =>
  h("table", {}, h("thead", {}, h("tr", {}, head.map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell) => h("td", {}, cell))))));

const bullets = (title, items) => (items.length ? [h("h3", {}, title), h("ul", {}, items.map((t) => h("li", {}, t)))] : []);

function entryView(entry, entries, overlays) {
  let explorer = null;
  const params = paramsForm(entry, () => explorer?.refresh());
  const modes = entry.input_modes;
  if (entry.curve) explorer = curveExplorer(entry, entries, params, overlays);
  return h(
    "article",
    { class: "entry", "data-testid": "loss-entry", "data-loss": entry.name },
    h("h2", {}, entry.name, entry.aliases.length ? h("span", { class: "aliases" }, ` (${entry.aliases.join(", ")})`) : null),
    h("p", {}, entry.summary),
    h("pre", { class: "formula", "data-testid": "formula" }, entry.formula),
    h("h3", {}, "Parameters"),
    params.element,
    h("h3", {}, "Inputs"),
    table(["mode", "predictions", "targets", "shapes"], modes.map((m) => [m.name, m.predictions, m.targets.join(", "), m.shapes.join("; ")])),
    h("p", { class: "muted" }, `Reductions: ${entry.reductions.join(", ")}. `, entry.has_gradient ? "Exact gradient." : "No gradient."),
    h("h3", {}, "Equivalents"),
    entry.equivalents.length
      ? h("div", { "data-testid": "equivalents" },
          table(["library", "function", "mapping"], entry.equivalents.map((e) => [e.library, h("code", {}, e.function), e.mapping])))
      : h("p", { class: "muted" }, "None."),
    bullets("Where the libraries differ", entry.differences),
    bullets("Notes", entry.notes),
    explorer ? explorer.element : h("p", { class: "muted" }, "This loss takes a vector prediction per sample: it has no scalar curve."),
    tryForm(entry, params, entry.curve ? curveModes(entry)[0] : modes[0]),
  );
}

export function render(container, { name, query }) {
  const content = h("div", { class: "catalogue" }, h("p", { class: "muted" }, "Loading the catalogue…"));
  const presets = h("p", { class: "presets" }, "Classic plots: ",
    PRESETS.map(([label, loss, overlays]) => h("a", { href: presetHash(loss, overlays), class: "button", "data-testid": "preset" }, label)));
  replace(container, h("h1", {}, "Catalogue"), presets, content);
  catalogue()
    .then((entries) => {
      const entry = name ? resolve(entries, name) : entries.values().next().value;
      if (!entry) throw new ProblemError(404, { title: "Unknown loss", detail: `There is no loss named '${name}' in the catalogue.` });
      replace(content, sidebar(entries, entry), entryView(entry, entries, query.getAll("overlay")));
    })
    .catch((error) => showError(content, error));
}
