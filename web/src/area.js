// The area panel: one area's level (Vietnamese first), since when, the override with its
// author and reason, the labelled inputs, the explanation the API gives, and a chart of the
// last 90 days — daily community and quarantine cases, the 7-day incidence with the rule
// set's thresholds, and each day's level as a coloured strip (uPlot).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { getJson } from './api.js';
import { addDays, both, dmy, escapeHtml, num, t } from './text.js';

export const CHART_DAYS = 90;
const ruleSets = new Map();

/** The numbers a rule set compares a 7-day community incidence with (matrix rows, bands, raises). */
export function incidenceThresholds(definition) {
  const names = Object.entries(definition.metrics || {})
    .filter(([, m]) => m.kind === 'rate_per_100k' && m.of === 'community_cases' && m.window_days === 7)
    .map(([n]) => n);
  const found = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    if (names.includes(v.metric)) {
      if (Array.isArray(v.thresholds)) v.thresholds.forEach((x) => typeof x === 'number' && found.add(x));
      if (typeof v.value === 'number') found.add(v.value);
    }
    Object.values(v).forEach(walk);
  };
  walk(definition.levels);
  return [...found].sort((a, b) => a - b);
}

/** Community cases per 100,000 over the 7 days ending each day (null: nothing reported in them). */
export function rollingIncidence(dates, community, population) {
  return dates.map((_, i) => {
    let sum = 0;
    let any = false;
    for (let k = Math.max(0, i - 6); k <= i; k++) {
      if (community[k] !== null) {
        sum += community[k];
        any = true;
      }
    }
    return any && population ? Math.round(((sum * 100_000) / population) * 100) / 100 : null;
  });
}

export async function loadArea(box, { cfg, state, code, signal, testHooks }) {
  const q = new URLSearchParams({ date: state.date, version: state.version });
  const from = addDays(state.date, -(CHART_DAYS - 1));
  const [z, history, reports] = await Promise.all([
    getJson(`/v1/zones/${encodeURIComponent(code)}?${q}`, { signal }),
    getJson(`/v1/zones/${encodeURIComponent(code)}/history?from=${from}&to=${state.date}&version=${state.version}`, { signal }),
    // six days more than the chart: the first day's 7-day incidence needs them
    getJson(`/v1/areas/${encodeURIComponent(code)}/reports?from=${addDays(from, -6)}&to=${state.date}`, { signal }),
  ]);
  let definition = null;
  if (z.rule_set) {
    if (!ruleSets.has(z.rule_set.id)) ruleSets.set(z.rule_set.id, await getJson(`/v1/rule-sets/${encodeURIComponent(z.rule_set.id)}`, { signal }));
    definition = ruleSets.get(z.rule_set.id).definition ?? ruleSets.get(z.rule_set.id);
  }
  renderArea(box, cfg, state, z);
  const data = chartData(history, reports, z.population, from);
  data.thresholds = definition ? incidenceThresholds(definition) : [];
  drawChart(box.querySelector('#chart'), cfg, data);
  return { zone: z, chart: testHooks ? data : undefined };
}

function renderArea(box, cfg, state, z) {
  const info = cfg.levels[z.level];
  const o = z.override;
  const inputs = Object.entries(z.inputs || {})
    .map(([k, v]) => {
      const info = z.input_labels && z.input_labels[k];
      const label = info ? both(info) : k;
      // a value with a meaning of its own (a 0/1 flag: đạt / không đạt) is shown by that meaning
      const meaning = v !== null && info && info.values && info.values[v] ? both(info.values[v]) : null;
      return `<tr><td>${escapeHtml(label)}</td><td class="num">${v === null ? `— <span class="muted">${t('missing')}</span>` : meaning ? escapeHtml(meaning) : num(v, 2)}</td></tr>`;
    })
    .join('');
  box.innerHTML = `
    <h2 id="area-name">${escapeHtml(z.name)} <span class="muted">${escapeHtml(t(`kind_${z.kind}`))} · ${escapeHtml(z.code)}</span></h2>
    <p id="area-level" data-level="${z.level}"><span class="swatch big" style="background:${info.color}"></span><strong>${escapeHtml(z.level_label.vi)}</strong> <span class="en">${escapeHtml(z.level_label.en)}</span></p>
    <p id="area-since">${t('since')}: ${dmy(z.since)} · ${t('date')}: ${dmy(state.date)}</p>
    ${o ? `<div class="override" id="area-override"><strong>${t('override')}</strong>: ${escapeHtml(both(cfg.levels[o.level]))}<br>${escapeHtml(o.reason)}${o.note ? `<br><span class="muted">${escapeHtml(o.note)}</span>` : ''}<br><span class="muted">${o.author ? `${t('by')} ${escapeHtml(o.author)}, ` : ''}${dmy(o.from)}${o.until ? ` – ${dmy(o.until)}` : ''}</span></div>` : ''}
    <h3>${t('chart')}</h3>
    <div id="chart" class="chart"></div>
    <h3>${t('inputs')}</h3>
    <table class="figures" id="area-inputs">${inputs}</table>
    <h3>${t('explanation')}</h3>
    <ol id="area-explanation">${(z.explanation || []).map((s) => `<li>${escapeHtml(s.text ? both(s.text) : s.note)}</li>`).join('')}</ol>`;
}

function chartData(history, reports, population, from) {
  const byDate = new Map(reports.items.map((r) => [r.date, r]));
  const all = [];
  for (let d = addDays(from, -6); d <= history.to; d = addDays(d, 1)) all.push(d);
  const community = all.map((d) => (byDate.has(d) ? byDate.get(d).community_cases : null));
  const quarantine = all.map((d) => (byDate.has(d) ? byDate.get(d).quarantine_cases : null));
  const incidence = rollingIncidence(all, community, population);
  const keep = (xs) => xs.slice(6);
  return {
    dates: keep(all),
    community: keep(community),
    quarantine: keep(quarantine),
    incidence: keep(incidence),
    levels: history.days.map((d) => d.level),
  };
}

function drawChart(el, cfg, data) {
  const width = Math.max(280, el.clientWidth || 360);
  const xs = data.dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const strip = 8;
  const levelsPlugin = {
    hooks: {
      draw: (u) => {
        const ctx = u.ctx;
        const { left, top, width: w, height } = u.bbox;
        const step = w / Math.max(1, xs.length);
        // the level of each day as a strip along the bottom
        data.levels.forEach((l, i) => {
          ctx.fillStyle = cfg.levels[l].color;
          ctx.fillRect(left + i * step, top + height - strip * devicePixelRatio, Math.ceil(step), strip * devicePixelRatio);
        });
        // the rule set's thresholds on the incidence scale
        ctx.save();
        ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
        ctx.strokeStyle = '#7b1fa2';
        ctx.lineWidth = devicePixelRatio;
        ctx.fillStyle = '#7b1fa2';
        ctx.font = `${10 * devicePixelRatio}px system-ui, sans-serif`;
        for (const th of data.thresholds) {
          const y = u.valToPos(th, 'inc', true);
          if (y < top || y > top + height) continue;
          ctx.beginPath();
          ctx.moveTo(left, y);
          ctx.lineTo(left + w, y);
          ctx.stroke();
          if (y < top + height - (strip + 12) * devicePixelRatio) ctx.fillText(num(th), left + 4, y - 3);
        }
        ctx.restore();
      },
    },
  };
  const maxInc = Math.max(1, ...data.incidence.filter((v) => v !== null), ...data.thresholds.map((x) => x * 1.1));
  const opts = {
    width,
    height: 200,
    plugins: [levelsPlugin],
    legend: { show: true },
    scales: { x: { time: true }, cases: { range: (u, min, max) => [0, Math.max(5, max)] }, inc: { range: () => [0, maxInc] } },
    axes: [
      { values: (u, vals) => vals.map((v) => dmy(new Date(v * 1000).toISOString()).slice(0, 5)) },
      { scale: 'cases', size: 40 },
      { scale: 'inc', side: 1, size: 44, grid: { show: false } },
    ],
    series: [
      { label: t('date'), value: (u, v) => (v === null ? '—' : dmy(new Date(v * 1000).toISOString())) },
      { label: t('community'), scale: 'cases', stroke: '#c62828', fill: 'rgba(198,40,40,0.35)', paths: uPlot.paths.bars({ size: [0.8, 12] }), value: (u, v) => num(v) },
      { label: t('quarantine'), scale: 'cases', stroke: '#1565c0', width: 1.5, value: (u, v) => num(v) },
      { label: t('incidenceLine'), scale: 'inc', stroke: '#6a1b9a', width: 2, value: (u, v) => num(v, 1) },
    ],
  };
  el.innerHTML = '';
  return new uPlot(opts, [xs, data.community, data.quarantine, data.incidence], el);
}

