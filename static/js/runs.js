// Runs table: server-side filters and pagination, live progress polling, and the run details panel.
import { call, confirmAction, fragment, localTimes, notice } from "./api.js";

const POLL_MS = 3000;
let state = { query: {}, page: 1, openRun: null, timer: null, onRunFinished: null, activeIds: new Set() };

function filterQuery() {
  const form = document.getElementById("runs-filters");
  const query = {};
  new FormData(form).forEach((value, key) => { if (value) query[key] = value; });
  return query;
}

function activeIdsIn(root) {
  return new Set([...root.querySelectorAll("tr.is-active[data-run-id]")].map((row) => row.dataset.runId));
}

export async function refreshRuns() {
  const wrap = document.getElementById("runs-table-wrap");
  try {
    const html = await fragment("runs_fragment", { ...state.query, page: state.page });
    wrap.innerHTML = html;
    localTimes(wrap);
    markSelected();
    const now = activeIdsIn(wrap);
    const finished = [...state.activeIds].some((id) => !now.has(id));
    state.activeIds = now;
    if (finished && state.onRunFinished) state.onRunFinished();
  } catch (err) {
    document.getElementById("runs-live").textContent = err.message;
  }
  schedulePoll();
}

function isActive() {
  const table = document.getElementById("runs-table");
  const detail = document.querySelector("#run-detail .detail");
  return (table && table.dataset.active === "1") || (detail && detail.dataset.active === "1");
}

function schedulePoll() {
  clearTimeout(state.timer);
  const live = document.getElementById("runs-live");
  if (!isActive()) {
    live.textContent = "";
    return;
  }
  live.textContent = "Live: updating every few seconds";
  state.timer = setTimeout(async () => {
    if (document.hidden) { schedulePoll(); return; }
    if (state.openRun) await loadDetail(state.openRun, { quiet: true });
    await refreshRuns();
  }, POLL_MS);
}

function markSelected() {
  document.querySelectorAll("tr.run-row").forEach((row) => {
    row.classList.toggle("is-selected", row.dataset.runId === String(state.openRun));
  });
}

async function loadDetail(runId, { quiet = false } = {}) {
  const panel = document.getElementById("run-detail");
  try {
    panel.innerHTML = await fragment("runs_fragment", { run: runId });
    panel.hidden = false;
    localTimes(panel);
    const log = panel.querySelector("pre.log");
    if (log) log.scrollTop = log.scrollHeight;
  } catch (err) {
    if (!quiet) notice(err.message, "error");
  }
}

async function openDetail(runId) {
  state.openRun = runId;
  markSelected();
  await loadDetail(runId);
  document.querySelector("#run-detail [data-detail-close]")?.focus();
  schedulePoll();
}

function closeDetail() {
  state.openRun = null;
  const panel = document.getElementById("run-detail");
  panel.hidden = true;
  panel.textContent = "";
  markSelected();
}

async function cancelRun(runId) {
  const answer = await confirmAction({
    title: `Cancel run ${runId}?`,
    message: "The runner is stopped; the destination keeps its data from before this run.",
    confirmLabel: "Cancel run",
  });
  if (!answer.ok) return;
  try {
    await call("run_cancel", { id: runId, body: {} });
    notice(`Run ${runId} was cancelled.`, "ok");
  } catch (err) {
    notice(err.message, "error");
  }
  await loadDetail(runId);
  await refreshRuns();
}

function onTableClick(event) {
  const pageButton = event.target.closest("[data-runs-page]");
  if (pageButton) {
    state.page = Number(pageButton.dataset.runsPage);
    refreshRuns();
    return;
  }
  const row = event.target.closest("tr[data-run-id]");
  if (row) openDetail(row.dataset.runId);
}

function onTableKey(event) {
  const row = event.target.closest("tr[data-run-id]");
  if (row && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    openDetail(row.dataset.runId);
  }
}

function onDetailClick(event) {
  if (event.target.closest("[data-detail-close]")) closeDetail();
  const cancel = event.target.closest("[data-run-cancel]");
  if (cancel) cancelRun(cancel.dataset.runCancel);
}

export function initRuns({ onRunFinished }) {
  state.onRunFinished = onRunFinished;
  const form = document.getElementById("runs-filters");
  state.query = filterQuery();
  state.activeIds = activeIdsIn(document.getElementById("runs-table-wrap"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = filterQuery();
    state.page = 1;
    refreshRuns();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name !== "q") form.requestSubmit();
  });
  const wrap = document.getElementById("runs-table-wrap");
  wrap.addEventListener("click", onTableClick);
  wrap.addEventListener("keydown", onTableKey);
  document.getElementById("run-detail").addEventListener("click", onDetailClick);
  schedulePoll();
}
