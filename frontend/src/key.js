// The API-key prompt: shown when the service answers 401; the problem's detail says what is wrong.
import { apiKey, forgetApiKey, setApiKey } from "./api.js";
import { h, replace } from "./dom.js";

let dialog = null;

export function showKeyPrompt(error, onKey) {
  if (dialog?.isConnected) return;
  const { problem, keySent } = error;
  const input = h("input", {
    type: "password",
    name: "api-key",
    autocomplete: "off",
    required: true,
    "data-testid": "key-input",
    "aria-label": "API key",
  });
  dialog = h(
    "form",
    {
      class: "key-prompt",
      "data-testid": "key-form",
      onsubmit: (event) => {
        event.preventDefault();
        setApiKey(input.value.trim());
        dialog.remove();
        dialog = null;
        showKeyState(onKey);
        onKey();
      },
    },
    h("h2", {}, "API key"),
    h("p", {}, "This service needs an API key. It is kept for this browser tab only and sent as a Bearer token."),
    h(
      "p",
      { class: "problem", role: "alert", "data-testid": "key-error" },
      h("strong", {}, keySent ? "The key was refused: " : `${problem.title}: `),
      problem.detail,
    ),
    h("label", {}, "Key ", input),
    h("button", { type: "submit" }, "Use this key"),
  );
  if (keySent) forgetApiKey();
  document.querySelector("#app").prepend(dialog);
  input.focus();
}

export function showKeyState(onChange) {
  const slot = document.querySelector("#key-state");
  if (apiKey() === null) return replace(slot);
  replace(
    slot,
    h(
      "button",
      {
        type: "button",
        class: "link",
        "data-testid": "forget-key",
        onclick: () => {
          forgetApiKey();
          replace(slot);
          onChange();
        },
      },
      "Forget API key",
    ),
  );
}
