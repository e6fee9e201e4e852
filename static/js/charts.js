// Charts: run durations per job over the last days (one lane per job, coloured by outcome) and rows per day.
/* global echarts */
const COLOURS = { completed: "#12805c", failed: "#c0262d", partial: "#dc6803", cancelled: "#98a2b3", running: "#2e6bd1", queued: "#2e6bd1" };
const LABELS = { completed: "Completed", failed: "Failed", partial: "Partial", cancelled: "Cancelled", running: "Running" };

function empty(node, text) {
  node.textContent = "";
  const box = document.createElement("div");
  box.className = "chart-empty";
  box.textContent = text;
  node.append(box);
}

function formatSeconds(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function escapeText(text) {
  const div = document.createElement("div");
  div.textContent = String(text);
  return div.innerHTML;
}

function durationOption(data) {
  const jobs = [...new Set(data.runs.map((r) => r.job || "(deleted job)"))].sort().reverse();
  const maxSeconds = Math.max(...data.runs.map((r) => r.seconds), 1);
  const byStatus = {};
  data.runs.forEach((run) => {
    const status = run.active ? "running" : (LABELS[run.status] ? run.status : "cancelled");
    (byStatus[status] = byStatus[status] || []).push({
      value: [run.start, run.job || "(deleted job)", run.seconds], run,
    });
  });
  const series = Object.entries(byStatus).map(([status, points]) => ({
    name: LABELS[status], type: "scatter", data: points,
    itemStyle: { color: COLOURS[status], opacity: 0.8 },
    symbolSize: (value) => 8 + 22 * Math.sqrt(value[2] / maxSeconds),
  }));
  return {
    animation: false,
    grid: { left: 8, right: 16, top: 36, bottom: 28, containLabel: true },
    legend: { top: 0 },
    tooltip: {
      trigger: "item",
      formatter: (item) => {
        const run = item.data.run;
        return `<strong>${escapeText(run.job)}</strong> · run ${run.id}<br>${escapeText(LABELS[run.status] || run.status)}` +
          ` in ${formatSeconds(run.seconds)}<br>${Number(run.rows).toLocaleString()} rows<br>` +
          `${escapeText(new Date(run.start).toLocaleString())}`;
      },
    },
    xAxis: { type: "time", min: data.since, max: data.now, splitNumber: 6 },
    yAxis: { type: "category", data: jobs, axisLabel: { width: 140, overflow: "truncate" } },
    series,
  };
}

function rowsOption(data) {
  return {
    animation: false,
    grid: { left: 8, right: 16, top: 36, bottom: 28, containLabel: true },
    legend: { top: 0 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.days.map((d) => d.day) },
    yAxis: [{ type: "value", name: "rows" }, { type: "value", name: "runs", minInterval: 1 }],
    series: [
      { name: "Rows loaded", type: "bar", data: data.days.map((d) => d.rows), itemStyle: { color: "#3656d8" } },
      { name: "Failed runs", type: "line", yAxisIndex: 1, data: data.days.map((d) => d.failed), itemStyle: { color: COLOURS.failed } },
    ],
  };
}

export function initCharts(data) {
  const durations = document.getElementById("chart-durations");
  const rows = document.getElementById("chart-rows");
  if (typeof echarts === "undefined") {
    empty(durations, "Charts could not load.");
    empty(rows, "Charts could not load.");
    return;
  }
  const charts = [];
  if (data.runs && data.runs.length) {
    const chart = echarts.init(durations, null, { renderer: "svg" });
    chart.setOption(durationOption(data));
    chart.on("click", (item) => {
      const id = item.data && item.data.run && item.data.run.id;
      const row = id && document.querySelector(`tr[data-run-id="${id}"]`);
      if (row) row.click();
    });
    charts.push(chart);
  } else {
    empty(durations, "No runs in the last 3 days.");
  }
  if (data.days && data.days.length) {
    const chart = echarts.init(rows, null, { renderer: "svg" });
    chart.setOption(rowsOption(data));
    charts.push(chart);
  } else {
    empty(rows, "No rows loaded in the last 2 weeks.");
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
}
