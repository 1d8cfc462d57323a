// One API key's page: its requests and errors per day (bars) and tokens (line), from #key-usage-data.
(function () {
  const source = document.getElementById("key-usage-data"), canvas = document.getElementById("chart-key-usage");
  if (!source || !canvas || !window.Chart) return;
  const rows = JSON.parse(source.textContent);
  const day = iso => new Date(iso + "T00:00:00Z").toLocaleDateString(undefined, {month: "short", day: "numeric", timeZone: "UTC"});
  new Chart(canvas, {
    type: "bar",
    data: {labels: rows.map(r => day(r.date)), datasets: [
      {label: "Requests", data: rows.map(r => r.requests), backgroundColor: "#3056d3", stack: "r"},
      {label: "Errors", data: rows.map(r => r.errors), backgroundColor: "#c0392b", stack: "r"},
      {type: "line", label: "Tokens", data: rows.map(r => r.tokens), borderColor: "#d4a017", backgroundColor: "#d4a017",
       yAxisID: "tokens", pointRadius: 2, borderWidth: 2},
    ]},
    options: {animation: false, maintainAspectRatio: false, interaction: {mode: "index", intersect: false},
      plugins: {legend: {position: "bottom"}},
      scales: {x: {stacked: true, grid: {display: false}}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}},
               tokens: {position: "right", beginAtZero: true, grid: {drawOnChartArea: false}}}},
  });
})();
