// The steering panel: what a steering committee reads for the scope and the day — communes
// and people per level, the 24-hour figures, escalations and de-escalations of the day and of
// the week, overrides in force, the rule set, reporting completeness, the briefing downloads.
// Its figures are /v1/summary's and /v1/changes' for the same scope, day and version.
import { both, dmy, escapeHtml, num, t, timeText } from './text.js';

const ORDER = ['red', 'orange', 'yellow', 'green', 'unknown'];
const rank = { green: 1, yellow: 2, orange: 3, red: 4 };

/** Escalated, de-escalated or neither (to or from unknown). */
export const direction = (c) => (rank[c.from] && rank[c.to] ? (rank[c.to] > rank[c.from] ? 'up' : 'down') : 'other');

const swatch = (levels, l) => `<span class="swatch" style="background:${levels[l].color}"></span>`;
const levelName = (levels, l) => escapeHtml(both(levels[l]).split(' – ')[0]);

function changeList(levels, items, districtName) {
  if (!items.length) return `<p class="muted">${t('none')}</p>`;
  const shown = items.slice(0, 200);
  return `<ul class="changes">${shown
    .map(
      (c) =>
        `<li><button type="button" class="link" data-code="${escapeHtml(c.code)}">${escapeHtml(c.name)}</button> <span class="muted">${escapeHtml(districtName(c.code))}</span> ${dmy(c.date)}: ${swatch(levels, c.from)}${levelName(levels, c.from)} → ${swatch(levels, c.to)}${levelName(levels, c.to)}${c.reason_text ? `<div class="reason">${escapeHtml(both(c.reason_text))}</div>` : ''}</li>`,
    )
    .join('')}</ul>${items.length > shown.length ? `<p class="muted">+${num(items.length - shown.length)}</p>` : ''}`;
}

export function renderSteering(box, d) {
  const { cfg, state, summary, changes, zones, scopeZone, timeline, districtName, briefingQuery } = d;
  const levels = cfg.levels;
  const total = summary.total;
  const by = summary.by_level;
  const silent = ORDER.reduce((s, l) => s + by[l].not_reported_24h, 0);
  const reported = total.areas - silent;

  const counts = ORDER.map(
    (l) =>
      `<tr data-level="${l}" data-areas="${by[l].areas}" data-population="${by[l].population}"><td>${swatch(levels, l)}${levelName(levels, l)}</td><td class="num">${num(by[l].areas)}</td><td class="num">${num(by[l].population)}</td></tr>`,
  ).join('');

  // the 24-hour figures: "X/N" of each level with no new community case, the silent apart
  const day = ORDER.map(
    (l) =>
      `<tr data-level="${l}" data-quiet="${by[l].no_new_community_cases_24h}" data-silent="${by[l].not_reported_24h}"><td>${swatch(levels, l)}${levelName(levels, l)}</td><td class="num">${num(by[l].no_new_community_cases_24h)}/${num(by[l].areas)}</td><td class="num">${num(by[l].not_reported_24h)}</td></tr>`,
  ).join('');
  const sentence = both(summary.sentence);

  const onDay = changes.filter((c) => c.date === state.date);
  const up = (list) => list.filter((c) => direction(c) === 'up');
  const down = (list) => list.filter((c) => direction(c) === 'down');

  const overrides = [scopeZone, ...zones].filter((z) => z && z.override);
  const rule = timeline.items.find((p) => (p.effective_from === null || p.effective_from <= state.date) && (p.effective_to === null || p.effective_to >= state.date));
  const computed = zones.map((z) => z.computed_at).filter(Boolean).sort().at(-1) ?? null;

  box.innerHTML = `
    <p class="as-of" data-as-of="${escapeHtml(computed ?? '')}">${t('dataAsOf')}: <strong>${computed ? timeText(computed, cfg.time_zone) : t('notComputed')}</strong>${state.version === 'published' ? ` · ${t('published')}` : ''}</p>
    <p class="sentence" id="sentence">${escapeHtml(sentence)}</p>
    <table class="figures" id="counts"><thead><tr><th>${t('level')}</th><th class="num">${t('areas')}</th><th class="num">${t('population')}</th></tr></thead>
      <tbody>${counts}</tbody><tfoot><tr><td></td><td class="num">${num(total.areas)}</td><td class="num">${num(total.population)}</td></tr></tfoot></table>
    <h3>${t('last24h')}</h3>
    <table class="figures" id="day"><thead><tr><th>${t('level')}</th><th class="num">${t('noNew')}</th><th class="num">${t('notReported')}</th></tr></thead><tbody>${day}</tbody></table>
    <p id="reporting" data-reported="${reported}" data-total="${total.areas}">${t('reporting')}: <strong>${num(reported)}/${num(total.areas)}</strong>${total.areas ? ` (${num((reported * 100) / total.areas, 1)}${t('percent')})` : ''}</p>
    <h3>${t('escalated')} / ${t('deescalated')}</h3>
    <table class="figures" id="moves"><thead><tr><th></th><th class="num">${t('today')}</th><th class="num">${t('week')}</th></tr></thead><tbody>
      <tr data-kind="up" data-day="${up(onDay).length}" data-week="${up(changes).length}"><td>↑ ${t('escalated')}</td><td class="num">${num(up(onDay).length)}</td><td class="num">${num(up(changes).length)}</td></tr>
      <tr data-kind="down" data-day="${down(onDay).length}" data-week="${down(changes).length}"><td>↓ ${t('deescalated')}</td><td class="num">${num(down(onDay).length)}</td><td class="num">${num(down(changes).length)}</td></tr>
    </tbody></table>
    <details><summary>↑ ${t('escalated')} (${t('weekInline')}): ${num(up(changes).length)}</summary>${changeList(levels, up(changes), districtName)}</details>
    <details><summary>↓ ${t('deescalated')} (${t('weekInline')}): ${num(down(changes).length)}</summary>${changeList(levels, down(changes), districtName)}</details>
    <h3>${t('overrides')}</h3>
    <div id="overrides" data-count="${overrides.length}">${
      overrides.length
        ? `<ul class="changes">${overrides
            .map((z) => `<li><button type="button" class="link" data-code="${escapeHtml(z.code)}">${escapeHtml(z.name)}</button>: ${swatch(levels, z.override.level)}${levelName(levels, z.override.level)} — ${escapeHtml(z.override.reason)}${z.override.author ? ` (${escapeHtml(z.override.author)})` : ''}, ${dmy(z.override.from)}${z.override.until ? `–${dmy(z.override.until)}` : ''}</li>`)
            .join('')}</ul>`
        : `<p class="muted">${t('none')}</p>`
    }</div>
    <h3>${t('ruleSet')}</h3>
    <p id="rule-set">${rule ? `${escapeHtml(rule.rule_set.name)} v${rule.rule_set.version}${rule.effective_from ? ` (${t('since').toLowerCase()} ${dmy(rule.effective_from)})` : ''}` : t('noRuleSet')}</p>
    <h3>${t('downloads')}</h3>
    <p class="downloads">
      <button type="button" data-download="/briefing?${briefingQuery}" data-open="1">${t('printPage')}</button>
      <button type="button" data-download="/v1/briefing.pdf?${briefingQuery}">PDF</button>
      <button type="button" data-download="/v1/briefing.xlsx?${briefingQuery}">XLSX</button>
      <button type="button" data-download="/v1/briefing.csv?${briefingQuery}">CSV</button>
    </p>`;
}

