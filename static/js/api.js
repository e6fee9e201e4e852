// Shared helpers for the ETL page: the URL map from json_script, JSON calls with CSRF, DOM helpers.
export const PLACEHOLDER = "987654321";

export function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

const URLS = readJson("etl-urls");

export class ApiError extends Error {
  constructor(message, { status = 0, code = "error", errors = {}, data = {} } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors || {};
    this.data = data || {};
  }
}

export function hasRoute(key) {
  return Boolean(URLS[key]);
}

export function url(key, id, query) {
  const base = URLS[key];
  if (!base) {
    throw new ApiError(`This action is not available yet: the server has no “${key}” endpoint.`,
      { code: "missing_route" });
  }
  let path = id == null ? base : base.replace(PLACEHOLDER, encodeURIComponent(String(id)));
  if (query) {
    const params = new URLSearchParams();
    Object.entries(query).forEach(([k, v]) => {
      if (v !== undefined && v !== null && v !== "") params.set(k, v);
    });
    const text = params.toString();
    if (text) path += (path.includes("?") ? "&" : "?") + text;
  }
  return path;
}

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Calls a JSON endpoint by key. Resolves with the parsed body; rejects with ApiError carrying field errors.
export async function call(key, { id = null, method = "POST", body, query } = {}) {
  const target = url(key, id, method === "GET" ? query : undefined);
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRFToken"] = csrfToken();
    options.body = JSON.stringify(body || {});
  }
  let response;
  try {
    response = await fetch(target, options);
  } catch (err) {
    throw new ApiError("The server could not be reached. Check your network and try again.", { code: "network" });
  }
  let data = {};
  try {
    data = await response.json();
  } catch (err) {
    data = {};
  }
  if (!response.ok || data.status === "error") {
    const message = data.message || `The server answered ${response.status} ${response.statusText}.`;
    throw new ApiError(message, { status: response.status, code: data.code, errors: data.errors, data });
  }
  return data;
}

// Fetches an HTML fragment (same-origin, server-rendered and auto-escaped by Django's templates).
export async function fragment(key, query) {
  const response = await fetch(url(key, null, query), { credentials: "same-origin", headers: { Accept: "text/html" } });
  const text = await response.text();
  if (!response.ok && response.status !== 404) {
    throw new ApiError(`Could not refresh (${response.status}).`, { status: response.status });
  }
  return text;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => {
    if (v === undefined || v === null || v === false) return;
    if (k === "text") node.textContent = v;
    else if (k === "className") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  });
  children.flat().forEach((child) => {
    if (child === null || child === undefined || child === false) return;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  });
  return node;
}

export function notice(message, kind = "info") {
  const box = document.getElementById("page-notice");
  if (!box) return;
  box.textContent = message;
  box.className = `notice${kind === "error" ? " is-error" : kind === "ok" ? " is-ok" : ""}`;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 12000 : 6000);
}

// Shows field errors next to elements marked data-error-for="<field>" inside root; returns unmatched ones.
export function showFieldErrors(root, errors) {
  clearFieldErrors(root);
  const unmatched = {};
  Object.entries(errors || {}).forEach(([field, messages]) => {
    const text = [].concat(messages).join(" ");
    const slot = root.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (slot) {
      slot.textContent = text;
      slot.closest(".field")?.classList.add("has-error");
    } else {
      unmatched[field] = text;
    }
  });
  return unmatched;
}

export function clearFieldErrors(root) {
  root.querySelectorAll("[data-error-for]").forEach((slot) => { slot.textContent = ""; });
  root.querySelectorAll(".has-error").forEach((node) => node.classList.remove("has-error"));
}

export function localTimes(root = document) {
  const fmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  root.querySelectorAll("time.js-local-time").forEach((node) => {
    const when = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) node.textContent = fmt.format(when);
  });
}

export function confirmAction({ title, message, confirmLabel = "Confirm", option = null }) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-message").textContent = message;
  dialog.querySelector("#confirm-ok").textContent = confirmLabel;
  const wrap = dialog.querySelector("#confirm-option-wrap");
  const box = dialog.querySelector("#confirm-option");
  wrap.hidden = !option;
  box.checked = option ? Boolean(option.checked) : false;
  if (option) dialog.querySelector("#confirm-option-label").textContent = option.label;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve({ ok: dialog.returnValue === "ok", option: box.checked });
    }, { once: true });
  });
}

export function formatNumber(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString();
}
