// The analytics page: draws the figures the page carries as JSON (#analytics-data) with the vendored Chart.js.
(function () {
  const source = document.getElementById("analytics-data");
  if (!source || !window.Chart) return;
  const figures = JSON.parse(source.textContent);
  const css = getComputedStyle(document.documentElement);
  const color = (name, fallback) => (css.getPropertyValue(name) || fallback).trim();
  const palette = {
    accent: color("--accent", "#3056d3"), ok: color("--ok", "#1e8449"), danger: color("--danger", "#c0392b"),
    warn: "#d4a017", muted: color("--muted", "#5b6577"), line: color("--line", "#dfe3ea"),
  };
  const series = ["#3056d3", "#1e8449", "#d4a017", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d"];
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = palette.muted;
  Chart.defaults.borderColor = palette.line;
  Chart.defaults.animation = false;  // drawn once, at once
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.position = "bottom";
  Chart.defaults.plugins.legend.labels.usePointStyle = true;  // a dot per series, dashed or not
Chart.defaults.plugins.legend.labels.boxHeight = 7;
  Chart.defaults.interaction = {mode: "index", intersect: false};

  const short = iso => new Date(iso + "T00:00:00Z").toLocaleDateString(undefined, {month: "short", day: "numeric", timeZone: "UTC"});
  const days = rows => rows.map(r => short(r.date));
  const pick = (rows, key) => rows.map(r => r[key]);
  const percent = (rows, key) => rows.map(r => (r[key] === null ? null : Math.round(r[key] * 1000) / 10));
  const draw = (id, config) => {
    const el = document.getElementById(id);
    if (!el) return;
    new Chart(el, config);
    const empty = config.data.datasets.every(d => d.data.every(v => !v));
    if (empty) {  // say so rather than leave a blank grid to interpret
      const note = document.createElement("p");
      note.className = "chart-empty"; note.textContent = "Nothing in this range";
      el.parentElement.append(note);
    }
  };
  const bar = (label, data, colour, extra) => Object.assign({type: "bar", label, data, backgroundColor: colour, borderRadius: 2}, extra || {});
  const line = (label, data, colour, extra) => Object.assign({type: "line", label, data, borderColor: colour, backgroundColor: colour,
    pointRadius: 2.5, pointHoverRadius: 4, borderWidth: 2, spanGaps: true, tension: 0}, extra || {});
  const countAxis = {beginAtZero: true, grace: "10%", ticks: {precision: 0}};
  const stacked = {x: {stacked: true, grid: {display: false}}, y: Object.assign({stacked: true}, countAxis)};
  const percentAxis = {position: "right", min: 0, max: 100, grid: {drawOnChartArea: false}, ticks: {callback: v => v + "%"}};

  const volume = figures.volume;
  draw("chart-volume", {type: "bar", data: {labels: days(volume), datasets: [
    bar("Questions", pick(volume, "questions"), palette.accent),
    bar("Answers", pick(volume, "answers"), "#9db0ec"),
    line("Conversations", pick(volume, "conversations"), palette.warn),
  ]}, options: {scales: {x: {grid: {display: false}}, y: countAxis}}});

  const answers = figures.answers;
  draw("chart-answers", {type: "bar", data: {labels: days(answers), datasets: [
    bar("Answered", pick(answers, "answered"), palette.ok, {stack: "a"}),
    bar("Don't know", pick(answers, "dont_know"), palette.warn, {stack: "a"}),
    bar("Failed", pick(answers, "failed"), palette.danger, {stack: "a"}),
    line("Answered rate", percent(answers, "answered_rate"), palette.accent, {yAxisID: "rate"}),
  ]}, options: {scales: Object.assign({}, stacked, {rate: percentAxis})}});

  const feedback = figures.feedback;
  draw("chart-feedback", {type: "bar", data: {labels: days(feedback), datasets: [
    bar("Thumbs up", pick(feedback, "up"), palette.ok, {stack: "f"}),
    bar("Thumbs down", pick(feedback, "down"), palette.danger, {stack: "f"}),
    line("Thumbs up share", percent(feedback, "up_ratio"), palette.accent, {yAxisID: "rate"}),
  ]}, options: {scales: Object.assign({}, stacked, {rate: percentAxis})}});

  const latency = figures.latency;
  draw("chart-latency", {type: "line", data: {labels: days(latency), datasets: [
    line("First token p50", pick(latency, "ttft_p50"), palette.accent),
    line("First token p95", pick(latency, "ttft_p95"), palette.accent, {borderDash: [5, 4]}),
    line("Total p50", pick(latency, "total_p50"), palette.ok),
    line("Total p95", pick(latency, "total_p95"), palette.ok, {borderDash: [5, 4]}),
  ]}, options: {scales: {x: {grid: {display: false}}, y: {beginAtZero: true, ticks: {callback: v => v + " ms"}}}}});

  // Tokens: one stacked bar per provider on the days of the volume chart.
  const labels = volume.map(r => r.date), providers = [...new Set(figures.tokens.map(r => r.provider))];
  draw("chart-tokens", {type: "bar", data: {labels: days(volume), datasets: providers.map((name, i) => {
    const perDay = Object.fromEntries(figures.tokens.filter(r => r.provider === name).map(r => [r.date, r.prompt_tokens + r.completion_tokens]));
    return bar(name, labels.map(d => perDay[d] || 0), series[i % series.length], {stack: "t"});
  })}, options: {scales: stacked}});

  const usage = figures["api-usage"];
  draw("chart-api-usage", {type: "bar", data: {labels: days(usage), datasets: [
    bar("Requests", pick(usage, "requests"), palette.accent),
    line("Errors", pick(usage, "errors"), palette.danger),
  ]}, options: {scales: {x: {grid: {display: false}}, y: countAxis}}});
})();
