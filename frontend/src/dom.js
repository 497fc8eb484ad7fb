// Building DOM nodes without innerHTML: text from the API is always inserted as text.
import { handledElsewhere } from "./api.js";

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

export function replace(parent, ...children) {
  parent.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// A number as a person reads it: up to 6 significant digits, exponent when very large or small.
export function number(value) {
  if (value === null || value === undefined) return "—";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  return magnitude >= 1e6 || magnitude < 1e-4 ? value.toExponential(3) : String(Number(value.toPrecision(6)));
}

// Shows an error in `slot` unless it is an aborted request or a 401 (the key prompt's business).
export function showError(slot, error) {
  if (handledElsewhere(error)) return;
  replace(slot, problemBox(error));
}

export function problemBox(error) {
  const problem = error.problem ?? { title: "Error", detail: String(error.message ?? error) };
  return h(
    "div",
    { class: "problem", role: "alert", "data-testid": "problem" },
    h("strong", {}, problem.title ?? "Error"),
    " ",
    h("span", { class: "detail" }, problem.detail ?? ""),
    problem.errors?.length
      ? h("ul", {}, problem.errors.map((e) => h("li", {}, h("code", {}, e.location), " ", e.message)))
      : null,
  );
}

// Calls fn at most once per `wait` ms, with the latest arguments.
export function debounce(fn, wait) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
}
