// The dashboard's entry point: a hash router over three pages (runs, one run, the catalogue).
import "./style.css";
import { showKeyPrompt, showKeyState } from "./key.js";
import * as cataloguePage from "./catalogue.js";
import * as runPage from "./run.js";
import * as runsPage from "./runs.js";

const app = document.querySelector("#app");
let cleanup = () => {};

function parseRoute(hash) {
  const [path, query = ""] = hash.replace(/^#/, "").split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(query) };
}

function route() {
  const { parts, query } = parseRoute(location.hash);
  if (parts[0] === "catalogue") return { page: cataloguePage, args: { name: parts[1] ?? null, query }, nav: "catalogue" };
  if (parts[0] === "runs" && parts[1]) return { page: runPage, args: { name: parts[1], query }, nav: "runs" };
  return { page: runsPage, args: { query }, nav: "runs" };
}

function render() {
  cleanup();
  const { page, args, nav } = route();
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === nav);
  }
  app.replaceChildren();
  cleanup = page.render(app, args) ?? (() => {});
}

window.addEventListener("hashchange", render);
window.addEventListener("unauthorized", (event) => showKeyPrompt(event.detail, render));
showKeyState(render);
render();
