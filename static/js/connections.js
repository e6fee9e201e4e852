// Connections panel: cards with Test / Test all / Edit / Delete and the create-edit modal (Test before Save).
import { call, clearFieldErrors, confirmAction, el, fragment, notice, showFieldErrors } from "./api.js";

let config = {};
let editingId = null;
let returnTo = null;
const listeners = [];

const dialog = () => document.getElementById("connection-dialog");
const form = () => document.getElementById("connection-form");

export function onConnectionSaved(callback) {
  listeners.push(callback);
}

function showFieldsFor(type) {
  form().querySelectorAll("[data-types]").forEach((field) => {
    field.hidden = !field.dataset.types.split(" ").includes(type);
  });
}

function payload() {
  const type = form().elements.source_type.value;
  const body = { name: form().elements.name.value.trim(), source_type: type,
    description: form().elements.description.value.trim() };
  form().querySelectorAll("[data-types]").forEach((field) => {
    if (field.hidden) return;
    const input = field.querySelector("input, select, textarea");
    const value = input.value.trim();
    if (input.dataset.secret === "1" && !value) return; // blank secret = keep the stored one
    if (value === "") return;
    body[input.name] = input.name === "port" ? Number(value) : value;
  });
  return body;
}

function resetForm() {
  form().reset();
  clearFieldErrors(form());
  const result = document.getElementById("connection-test-result");
  result.hidden = true;
  document.getElementById("connection-form-error").textContent = "";
  form().querySelectorAll("[data-secret='1']").forEach((input) => { input.placeholder = ""; });
}

export function openConnectionDialog({ id = null, back = null } = {}) {
  resetForm();
  editingId = id;
  returnTo = back;
  document.getElementById("connection-dialog-title").textContent = id ? "Edit connection" : "New connection";
  form().elements.source_type.disabled = Boolean(id);
  showFieldsFor(form().elements.source_type.value);
  if (!dialog().open) dialog().showModal();
  if (id) fillFromServer(id);
  form().elements.name.focus();
}

async function fillFromServer(id) {
  try {
    const data = await call("connection_get", { id, method: "GET" });
    const conn = data.connection || {};
    const elements = form().elements;
    elements.name.value = conn.name || "";
    elements.description.value = conn.description || "";
    elements.source_type.value = conn.source_type || elements.source_type.value;
    showFieldsFor(elements.source_type.value);
    form().querySelectorAll("[data-types] input, [data-types] select, [data-types] textarea").forEach((input) => {
      if (input.dataset.secret === "1") {
        const set = conn[`has_${input.name}`] || (conn.secrets_set || []).includes(input.name);
        input.placeholder = set ? "set — leave blank to keep" : "not set";
        return;
      }
      const value = conn[input.name] ?? conn[`source_${input.name}`];
      if (value !== undefined && value !== null) input.value = value;
    });
  } catch (err) {
    document.getElementById("connection-form-error").textContent = err.message;
  }
}

function showTestResult(data) {
  const box = document.getElementById("connection-test-result");
  const ok = data.status === "success" && data.test_status !== "failed" && data.ok !== false;
  box.className = `test-result ${ok ? "is-ok" : "is-failed"}`;
  box.textContent = "";
  box.append(el("strong", { text: ok ? "Connection works. " : "Test failed. " }), data.message || "");
  if (data.duplicate || data.duplicate_of) {
    const dup = data.duplicate || data.duplicate_of;
    box.append(el("div", { className: "small", text: `Same source as the saved connection “${dup.connection_name || dup.name || dup}”.` }));
  }
  box.hidden = false;
}

async function testForm() {
  clearFieldErrors(form());
  const button = document.getElementById("connection-test-button");
  button.disabled = true;
  button.textContent = "Testing…";
  try {
    const body = payload();
    const data = editingId
      ? await call("connection_test", { id: editingId, body })
      : await call("connection_test_wizard", { body });
    showTestResult(data);
  } catch (err) {
    const rest = showFieldErrors(form(), err.errors);
    document.getElementById("connection-form-error").textContent =
      Object.keys(rest).length ? `${err.message} ${Object.values(rest).join(" ")}` : err.message;
  } finally {
    button.disabled = false;
    button.textContent = "Test connection";
  }
}

async function save(event) {
  event.preventDefault();
  clearFieldErrors(form());
  document.getElementById("connection-form-error").textContent = "";
  const body = payload();
  try {
    const data = editingId
      ? await call("connection_update", { id: editingId, body })
      : await call("connection_create", { body });
    const saved = { id: data.connection_id || editingId || (data.connection && data.connection.id),
      name: data.connection_name || body.name, type: body.source_type };
    dialog().close();
    notice(`Connection “${saved.name}” saved.`, "ok");
    await refreshConnections();
    listeners.forEach((callback) => callback(saved, returnTo));
  } catch (err) {
    const rest = showFieldErrors(form(), err.errors);
    const extra = Object.entries(rest).map(([k, v]) => `${k}: ${v}`).join(" ");
    document.getElementById("connection-form-error").textContent = `${err.message} ${extra}`.trim();
  }
}

export async function refreshConnections() {
  const panel = document.getElementById("connections-panel");
  try {
    const html = await fragment("runs_fragment", { part: "connections" });
    panel.querySelector(".conn-grid, .empty")?.remove();
    panel.insertAdjacentHTML("beforeend", html);
  } catch (err) {
    notice(err.message, "error");
  }
}

function setCardStatus(card, text, kind) {
  const line = card.querySelector("[data-role=test-status]");
  line.textContent = "";
  line.append(el("span", { className: `badge badge-${kind}`, text }));
}

async function testCard(card) {
  setCardStatus(card, "testing…", "running");
  try {
    const data = await call("connection_test", { id: card.dataset.connectionId, body: {} });
    const ok = data.status === "success" && data.test_status !== "failed" && data.ok !== false;
    setCardStatus(card, ok ? "Succeeded just now" : "Failed just now", ok ? "success" : "failed");
    if (!ok && data.message) card.querySelector("[data-role=test-status]").append(" ", el("span", { className: "small error-text", text: data.message }));
  } catch (err) {
    setCardStatus(card, "Failed", "failed");
    card.querySelector("[data-role=test-status]").append(" ", el("span", { className: "small error-text", text: err.message }));
  }
}

async function deleteCard(card) {
  const name = card.querySelector("strong").textContent;
  const answer = await confirmAction({ title: `Delete “${name}”?`,
    message: "The connection and its stored secrets are removed. Jobs that use it must be deleted first.",
    confirmLabel: "Delete connection" });
  if (!answer.ok) return;
  try {
    await call("connection_delete", { id: card.dataset.connectionId, body: {} });
    notice(`Connection “${name}” deleted.`, "ok");
    await refreshConnections();
  } catch (err) {
    notice(err.message, "error");
  }
}

function onPanelClick(event) {
  const button = event.target.closest("[data-conn-action]");
  if (button) {
    const card = button.closest("[data-connection-id]");
    const action = button.dataset.connAction;
    if (action === "test") testCard(card);
    else if (action === "edit") openConnectionDialog({ id: card.dataset.connectionId });
    else if (action === "delete") deleteCard(card);
    return;
  }
  if (event.target.closest("#test-all-button")) {
    document.querySelectorAll("#connections-panel [data-connection-id]").forEach((card) => testCard(card));
  }
}

export function initConnections(pageConfig) {
  config = pageConfig;
  form().elements.source_type.addEventListener("change", (e) => showFieldsFor(e.target.value));
  document.getElementById("connection-test-button").addEventListener("click", testForm);
  form().addEventListener("submit", save);
  document.getElementById("connections-panel").addEventListener("click", onPanelClick);
  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-open='connection-new']");
    if (opener) openConnectionDialog({ back: opener.dataset.return || null });
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
  });
  showFieldsFor(form().elements.source_type.value);
  return config;
}
