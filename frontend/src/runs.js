// The runs page: name, tags, last batch time, the latest value of every loss and its diagnostics
// status, filtered by tag (?tag=key:value, repeatable, as GET /v1/runs takes it). A page of runs is
// one request, GET /v1/runs, whose runs carry their statuses and latest values; the page asks again
// every few seconds and updates the rows whose run changed, keeping the filter and the page.
import { api } from "./api.js";
import { listedDiagnostics, statusBadge } from "./diagnostics.js";
import { h, number, replace, showError } from "./dom.js";
import { lossKey, orderSplits, runLosses } from "./series.js";

export const REFRESH_MS = 3000;
// A refresh waits at least this many times as long as the last answer took, so that a slow store is
// not asked again and again.
const SLOWDOWN = 4;
// Runs per page (?limit=, 1 to 1,000 as GET /v1/runs takes it); older pages by ?cursor=.
const PAGE_SIZES = [50, 100, 500, 1000];
const PAGE = 100;

export const runHash = (name) => `#/runs/${encodeURIComponent(name)}`;

function listHash({ tags = [], cursor = null, limit = PAGE }) {
  const query = tags.map((t) => `tag=${encodeURIComponent(t)}`);
  if (limit !== PAGE) query.push(`limit=${limit}`);
  if (cursor) query.push(`cursor=${encodeURIComponent(cursor)}`);
  return `#/runs${query.length ? "?" + query.join("&") : ""}`;
}

const ago = (iso) => {
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  return seconds < 90 ? `${Math.max(0, Math.round(seconds))} s ago` :
    seconds < 5400 ? `${Math.round(seconds / 60)} min ago` :
    seconds < 129600 ? `${Math.round(seconds / 3600)} h ago` : `${Math.round(seconds / 86400)} d ago`;
};

export function timeText(iso) {
  if (!iso) return "—";
  return h("time", { datetime: iso, title: iso }, ago(iso));
}

// Relative times go stale: rewrite them in place.
function refreshTimes(root) {
  for (const time of root.querySelectorAll("time[datetime]")) time.textContent = ago(time.dateTime);
}

// Per loss, the value at each split's last step (`latest`); splits without steps (production
// monitoring) have none here: their values are on the run page, over time.
function latestCell(run) {
  const steps = new Map();
  for (const entry of run.latest ?? []) steps.set(`${lossKey(entry.loss, entry.params)}|${entry.split}`, entry);
  const splits = orderSplits(run.splits ?? []);
  return runLosses(run).map(({ key, name, params, label }) =>
    h("div", { class: "latest", "data-loss": name, "data-params": JSON.stringify(params) }, h("code", {}, label), " ",
      splits.map((split) => {
        const entry = steps.get(`${key}|${split}`);
        return entry
          ? h("span", { class: "split-value", "data-split": split, "data-step": entry.step, "data-value": entry.value === null ? "" : String(entry.value), title: `at step ${entry.step}` },
            `${split} ${number(entry.value)}`)
          : h("span", { class: "split-value muted", "data-split": split, title: "no steps: see its values over time on the run page" }, `${split} —`);
      })),
  );
}

function statusCell(run) {
  return runLosses(run).map(({ key, name, params }) => {
    const listed = listedDiagnostics(run, key);
    return h("div", {}, statusBadge(listed?.status ?? null, name, params));
  });
}

function row(run, onTag) {
  const tags = Object.entries(run.tags ?? {}).map(([k, v]) =>
    h("button", { type: "button", class: "chip", onclick: () => onTag(`${k}:${v}`) }, `${k}:${v}`));
  const empty = !run.batches;
  return h(
    "tr",
    { "data-testid": "run-row", "data-run": run.name },
    h("td", {}, h("a", { href: runHash(run.name) }, run.name), run.description ? h("div", { class: "muted" }, run.description) : null),
    h("td", {}, tags),
    h("td", {}, timeText(run.last_time)),
    h("td", {}, empty ? h("span", { class: "muted" }, "no batches yet") : latestCell(run)),
    h("td", {}, empty ? null : statusCell(run)),
  );
}

export function render(container, { query }) {
  const tags = query.getAll("tag");
  const cursor = query.get("cursor");
  const asked = Number(query.get("limit"));
  const limit = Number.isInteger(asked) && asked >= 1 && asked <= 1000 ? asked : PAGE;
  let alive = true;
  let timer = null;
  let controller = null;
  // run name -> {json, element}: a row is rebuilt only when its run changed.
  let rows = new Map();
  const filter = h("input", { type: "search", name: "tag", value: tags.join(" "), placeholder: "key:value key:value", "data-testid": "tag-filter", "aria-label": "tags" });
  const go = (next) => (location.hash = listHash({ tags, limit, ...next }));
  const onTag = (tag) => go({ tags: [...new Set([...tags, tag])], cursor: null });
  const body = h("tbody");
  const pager = h("div", { class: "controls" });
  const message = h("div");
  const live = h("span", { class: "muted", "data-testid": "updated" });
  const list = h(
    "table",
    { class: "runs", "data-testid": "run-list" },
    h("thead", {}, h("tr", {}, ["run", "tags", "last batch", "latest value per loss", "status"].map((t) => h("th", {}, t)))),
    body,
  );
  const sizes = h("select", { "data-testid": "page-size", "aria-label": "runs per page", onchange: (e) => go({ limit: Number(e.target.value), cursor: null }) },
    [...new Set([...PAGE_SIZES, limit])].sort((a, b) => a - b).map((n) => h("option", { value: n, selected: n === limit }, `${n} per page`)));

  function show(answer) {
    const next = new Map();
    for (const run of answer.runs) {
      const json = JSON.stringify(run);
      const old = rows.get(run.name);
      next.set(run.name, old?.json === json ? old : { json, element: row(run, onTag) });
    }
    const elements = [...next.values()].map((r) => r.element);
    if (elements.length !== body.children.length || elements.some((e, i) => body.children[i] !== e)) body.replaceChildren(...elements);
    rows = next;
    refreshTimes(body);
    replace(message, answer.runs.length ? null : h("p", { class: "muted" }, cursor ? "No older runs." : tags.length ? "No run has these tags." : "No runs yet."));
    replace(pager,
      cursor ? h("a", { class: "button", href: listHash({ tags, limit }), "data-testid": "newest" }, "Newest runs") : null,
      answer.next_cursor ? h("a", { class: "button", href: listHash({ tags, limit, cursor: answer.next_cursor }), "data-testid": "older" }, "Older runs") : null,
      sizes, live);
    live.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  async function poll() {
    let wait = REFRESH_MS;
    if (!document.hidden) {
      controller = new AbortController();
      const started = performance.now();
      const params = tags.map((t) => ["tag", t]).concat([["limit", String(limit)]]);
      if (cursor) params.push(["cursor", cursor]);
      try {
        const answer = await api("runs", { query: params, signal: controller.signal });
        if (!alive) return;
        show(answer);
        wait = Math.max(REFRESH_MS, SLOWDOWN * (performance.now() - started));
      } catch (error) {
        if (!alive) return;
        showError(message, error);
        // A client error (a bad tag or cursor, no key) will not go away by asking again.
        if (error.status >= 400 && error.status < 500) return;
      }
    }
    if (alive) timer = setTimeout(poll, wait);
  }

  replace(
    container,
    h("h1", {}, "Runs"),
    h("form", { class: "controls", onsubmit: (e) => { e.preventDefault(); go({ tags: filter.value.split(/\s+/).filter(Boolean), cursor: null }); } },
      h("label", {}, "Filter by tags ", filter), h("button", { type: "submit" }, "Filter"),
      tags.length ? h("a", { href: listHash({ limit }) }, "clear") : null),
    message,
    list,
    pager,
  );
  poll();
  return () => {
    alive = false;
    clearTimeout(timer);
    controller?.abort();
  };
}
