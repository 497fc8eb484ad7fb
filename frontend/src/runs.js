// The runs page: name, tags, last batch time, the latest value of every loss and its diagnostics
// status; filtered by tag (?tag=key:value, repeatable, as GET /v1/runs takes it).
import { api } from "./api.js";
import { diagnose, diagnosticsAvailable } from "./diagnostics.js";
import { h, number, replace, showError } from "./dom.js";
import { lossKey, orderSplits, runLosses } from "./series.js";

const PAGE = 100;
const PARALLEL = 4;

export const runHash = (name) => `#/runs/${encodeURIComponent(name)}`;
const tagHash = (tags) => `#/runs${tags.length ? "?" + tags.map((t) => `tag=${encodeURIComponent(t)}`).join("&") : ""}`;

export function timeText(iso) {
  if (!iso) return "—";
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  const ago =
    seconds < 90 ? `${Math.max(0, Math.round(seconds))} s ago` :
    seconds < 5400 ? `${Math.round(seconds / 60)} min ago` :
    seconds < 129600 ? `${Math.round(seconds / 3600)} h ago` : `${Math.round(seconds / 86400)} d ago`;
  return h("time", { datetime: iso, title: iso }, ago);
}

export const statusBadge = (status, loss) =>
  h("span", { class: `status status-${status ?? "unknown"}`, "data-testid": "status", "data-loss": loss, "data-status": status ?? "" },
    status ? status.replace("_", " ") : "—");

// The latest value of every (split, loss): over each split's last step, or its last batch's time
// where it has no steps; and with diagnostics, each loss's status.
async function latest(run) {
  const summary = (query) => api(`runs/${encodeURIComponent(run.name)}/summary`, { query });
  const whole = await summary([]);
  const lastOfSplit = new Map(whole.summaries.map((s) => [s.split, s]));
  const windows = await Promise.all(
    orderSplits([...lastOfSplit.keys()]).map((split) => {
      const last = lastOfSplit.get(split);
      const where = last.last_step === null ? ["from", last.last_time] : ["step_from", String(last.last_step)];
      return summary([["split", split], where]);
    }),
  );
  const withStatus = run.last_step !== null && (await diagnosticsAvailable());
  return Promise.all(
    runLosses(run).map(async (loss) => ({
      ...loss,
      values: windows.flatMap((w) => w.summaries.filter((s) => lossKey(s.loss, s.params) === loss.key)),
      status: withStatus ? (await diagnose(run, loss.name)).status : undefined,
    })),
  );
}

function latestCells(rows) {
  const values = rows.map(({ key, name, label, values }) =>
    h("div", { class: "latest", "data-loss": name, "data-key": key }, h("code", {}, label), " ",
      values.map((s) => h("span", { class: "split-value", "data-split": s.split, "data-value": String(s.value) }, `${s.split} ${number(s.value)}`))),
  );
  const statuses = rows.map(({ name, status }) => (status === undefined ? null : h("div", {}, statusBadge(status, name))));
  return [values, statuses];
}

// Runs `task` over `items` with at most PARALLEL at a time.
async function pooled(items, task) {
  const queue = [...items];
  const worker = async () => {
    while (queue.length) await task(queue.shift());
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

function row(run, onTag) {
  const tags = Object.entries(run.tags ?? {}).map(([k, v]) =>
    h("button", { type: "button", class: "chip", onclick: () => onTag(`${k}:${v}`) }, `${k}:${v}`));
  const values = h("td", { class: "muted" }, "…");
  const status = h("td", {}, "…");
  const element = h(
    "tr",
    { "data-testid": "run-row", "data-run": run.name },
    h("td", {}, h("a", { href: runHash(run.name) }, run.name), run.description ? h("div", { class: "muted" }, run.description) : null),
    h("td", {}, tags),
    h("td", {}, timeText(run.last_time)),
    values,
    status,
  );
  const fill = async () => {
    if (!run.batches) {
      replace(values, "no batches yet");
      replace(status);
      return;
    }
    try {
      const [valueCells, statusCells] = latestCells(await latest(run));
      values.classList.remove("muted");
      replace(values, valueCells);
      replace(status, statusCells);
    } catch (error) {
      replace(status);
      showError(values, error);
    }
  };
  return { element, fill };
}

export function render(container, { query }) {
  const tags = query.getAll("tag");
  let alive = true;
  const filter = h("input", { type: "search", name: "tag", value: tags.join(" "), placeholder: "key:value key:value", "data-testid": "tag-filter", "aria-label": "tags" });
  const setTags = (next) => (location.hash = tagHash(next));
  const body = h("tbody");
  const more = h("div");
  const message = h("div");
  const list = h(
    "table",
    { class: "runs", "data-testid": "run-list" },
    h("thead", {}, h("tr", {}, ["run", "tags", "last batch", "latest value per loss", "status"].map((t) => h("th", {}, t)))),
    body,
  );

  async function load(cursor) {
    const params = tags.map((t) => ["tag", t]).concat([["limit", String(PAGE)]]);
    if (cursor) params.push(["cursor", cursor]);
    try {
      const answer = await api("runs", { query: params });
      if (!alive) return;
      const rows = answer.runs.map((run) => row(run, (tag) => setTags([...new Set([...tags, tag])])));
      body.append(...rows.map((r) => r.element));
      if (!answer.runs.length && !cursor) replace(message, h("p", { class: "muted" }, tags.length ? "No run has these tags." : "No runs yet."));
      replace(more, answer.next_cursor ? h("button", { type: "button", onclick: () => load(answer.next_cursor) }, "More runs") : null);
      await pooled(rows, (r) => (alive ? r.fill() : null));
    } catch (error) {
      showError(message, error);
    }
  }

  replace(
    container,
    h("h1", {}, "Runs"),
    h("form", { class: "controls", onsubmit: (e) => { e.preventDefault(); setTags(filter.value.split(/\s+/).filter(Boolean)); } },
      h("label", {}, "Filter by tags ", filter), h("button", { type: "submit" }, "Filter"),
      tags.length ? h("a", { href: "#/runs" }, "clear") : null),
    message,
    list,
    more,
  );
  load(null);
  return () => (alive = false);
}
