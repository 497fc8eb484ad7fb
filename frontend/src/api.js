// The service's HTTP API, same origin. With API keys configured, the key entered by the user is kept
// in sessionStorage (this tab only, gone when it closes) and sent as a Bearer token; it is never
// written anywhere else.

const STORAGE_KEY = "loss-service.api-key";

export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const apiKey = () => sessionStorage.getItem(STORAGE_KEY);
export const setApiKey = (key) => sessionStorage.setItem(STORAGE_KEY, key);
export const forgetApiKey = () => sessionStorage.removeItem(STORAGE_KEY);

// Relative to the page, so that a proxy may serve the service under a path prefix.
export const apiUrl = (path, query) => {
  const url = new URL(`../v1/${path}`, document.baseURI);
  for (const [name, value] of query ?? []) url.searchParams.append(name, value);
  return url;
};

export async function api(path, { method = "GET", body, query, signal } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(apiUrl(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: "omit",
  });
  if (response.ok) return response.status === 204 ? null : response.json();
  let problem;
  try {
    problem = await response.json();
  } catch {
    problem = { title: response.statusText || "Error", detail: `The service answered HTTP ${response.status}.` };
  }
  const error = new ProblemError(response.status, problem);
  error.keySent = Boolean(key);
  if (response.status === 401) window.dispatchEvent(new CustomEvent("unauthorized", { detail: error }));
  throw error;
}

// Errors a page does not show itself: aborted requests, and 401s, which the key prompt handles.
export const handledElsewhere = (error) => error?.name === "AbortError" || error?.status === 401;
