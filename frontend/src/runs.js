// The runs page: name, tags, last batch time, the latest value of every loss and its diagnostics
// status; filtered by tag (?tag=key:value, repeatable, as GET /v1/runs takes it).
import { api } from "./api.js";
import { diagnose, diagnosedSplits, lossName, splitFigures } from "./diagnostics.js";
import { h, number, replace, showError } from "./dom.js";

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

// Runs with steps: each loss's diagnostics (its status and the last value of each diagnosed split).
// Runs without steps: the value of every (split, loss) over the last batch's time.
async function latest(run) {
  const losses = (run.losses ?? []).map(lossName);
  if (run.last_step === null || run.last_step === undefined) {
    const answer = await api(`runs/${encodeURIComponent(run.name)}/summary`, { query: [["from", run.last_time]] });
    return losses.map((loss) => ({
      loss,
      status: null,
      values: answer.summaries.filter((s) => s.loss === loss).map((s) => [s.split, s.value]),
    }));
  }
  const { split, reference } = diagnosedSplits(run.splits ?? []);
  return Promise.all(
    losses.map(async (loss) => {
      const answer = await diagnose(run, loss);
      const values = [split, reference].filter(Boolean).map((s) => [s, splitFigures(answer, s)?.last_value ?? null]);
      return { loss, status: answer.status, values };
    }),
  );
}

function latestCells(rows) {
  const values = rows.map(({ loss, values }) =>
    h("div", { class: "latest", "data-loss": loss }, h("code", {}, loss), " ",
      values.map(([split, value]) => h("span", { class: "split-value", "data-split": split }, `${split} ${number(value)}`))),
  );
  return [values, rows.map(({ loss, status }) => h("div", {}, statusBadge(status, loss)))];
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
