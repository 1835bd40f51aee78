// The command centre's workplace at `/`: the map of levels, the steering panel, the commune
// list and one area's panel, for a scope (everything, a province, a district), a day and a
// version (latest or published). Vietnamese first; English by the switch.
//
// Test hooks (window.zonerisk, a canvas a test can read back) exist only with ?test=1.
import './app.css';
import { allChanges, authHeaders, download, getJson, guarded, hasKey, RequestFailed, setKey, whenKeyNeeded } from './api.js';
import { loadArea } from './area.js';
import { createList } from './list.js';
import { createMap } from './map.js';
import { renderSteering } from './steering.js';
import { addDays, both, dmy, escapeHtml, parseDmy, setLang, t } from './text.js';

const $ = (id) => document.getElementById(id);
const testHooks = new URLSearchParams(location.search).has('test');
const hooks = testHooks ? (window.zonerisk = { ready: false, timings: {} }) : { timings: {} };
const started = performance.now();
const mark = (name) => hooks.timings[name] ?? (hooks.timings[name] = Math.round(performance.now() - started));
const phone = () => matchMedia('(max-width: 720px)').matches;

// the state is in the address (#date=…&scope=…): a view can be bookmarked and sent on
const state = { date: null, version: 'latest', kind: 'commune', scope: null, selected: null, tab: 'steering', lang: 'vi' };
const AREA_CODE = /^[A-Za-z0-9._-]{1,64}$/;
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  // a calendar day (2026-02-31 is none), an area code as the API writes them: anything else is ignored
  const date = h.get('date') || '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(date) && parseDmy(dmy(date)) === date) state.date = date;
  if (['latest', 'published'].includes(h.get('version'))) state.version = h.get('version');
  if (['commune', 'district', 'province'].includes(h.get('kind'))) state.kind = h.get('kind');
  if (AREA_CODE.test(h.get('scope') || '')) state.scope = h.get('scope');
  if (AREA_CODE.test(h.get('area') || '') && !/^\.+$/.test(h.get('area'))) state.selected = h.get('area');
  if (['steering', 'list', 'area'].includes(h.get('tab'))) state.tab = h.get('tab');
  if (h.get('lang') === 'en') state.lang = 'en';
}
function writeHash() {
  const h = new URLSearchParams();
  for (const k of ['date', 'version', 'kind', 'scope', 'tab', 'lang']) if (state[k]) h.set(k, state[k]);
  if (state.selected) h.set('area', state.selected);
  history.replaceState(null, '', `#${h}`);
}

// a key, when reads need one: asked for once per browser session, sent with every request
whenKeyNeeded(
  (hadKey) =>
    new Promise((resolve) => {
      const dialog = $('key-dialog');
      $('key-wrong').hidden = !hadKey;
      $('key-input').value = '';
      translate();
      dialog.showModal();
      $('key-form').onsubmit = () => {
        setKey($('key-input').value.trim());
        dialog.onclose = null;
        resolve();
      };
      // closed without a key (Esc): the panel says what is missing and opens the prompt again
      dialog.onclose = () => {
        $('steering').innerHTML = `<div class="notice" id="key-missing"><p>${t('keyTitle')}</p><button type="button" id="key-again">${t('keyButton')}</button></div>`;
        $('key-again').addEventListener('click', () => dialog.showModal());
      };
    }),
);

function translate() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('title').textContent = t('title');
  $('lang').textContent = t('lang');
  $('search').placeholder = t('search');
}

let cfg;
let view;
let list;
let scopeAbort = null;
let areaAbort = null;
const placeByCode = new Map();

async function start() {
  readHash();
  setLang(state.lang);
  translate();
  cfg = await guarded($('steering'), () => getJson('/ui/config.json'));
  if (!cfg) return;
  for (const p of cfg.places) placeByCode.set(p.code, p);
  if (!state.date || state.date > cfg.today) state.date = cfg.days.at(-1) ?? cfg.today;
  if (state.scope && !placeByCode.has(state.scope)) state.scope = null;

  legend();
  scopePickers();
  dateControls();
  toggles();
  tabs();
  search();
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'vi' ? 'en' : 'vi';
    setLang(state.lang);
    translate();
    legend();
    scopePickers();
    list.relabel();
    loadScope();
    refreshArea();
    writeHash();
  });
  $('sheet-toggle').addEventListener('click', () => sheet(!document.body.classList.contains('sheet-open')));

  view = createMap({ cfg, state, testHooks, hidden: unpublished, onSelect: (code, lngLat) => selectArea(code, false, lngLat) });
  if (testHooks) hooks.map = view.map;
  list = createList($('list'), { cfg, onSelect: (code) => selectArea(code, true) });
  view.map.on('load', () => {
    view.refresh();
    if (state.scope) view.fitScope();
  });
  view.map.on('idle', () => {
    const drawn = view.drawn();
    if (drawn.size > 0) mark('map_coloured');
    if (testHooks) {
      const counts = { red: 0, orange: 0, yellow: 0, green: 0, unknown: 0 };
      for (const l of drawn.values()) counts[l] = (counts[l] ?? 0) + 1;
      hooks.counts = counts;
      hooks.drawnLevels = Object.fromEntries(drawn);
      hooks.mapReady = drawn.size > 0;
      hooks.ready = hooks.mapReady && hooks.steeringReady === true;
    }
  });
  document.addEventListener('click', (e) => {
    const b = e.target.closest('button.link[data-code]');
    if (b) selectArea(b.dataset.code, true);
    const d = e.target.closest('button[data-download]');
    if (d) {
      if (d.dataset.open) guarded($('steering'), () => openPage(d.dataset.download));
      else guarded($('steering'), () => download(d.dataset.download));
    }
  });
  showTab(state.tab);
  await loadScope();
  if (state.selected) selectArea(state.selected, true);
}

function legend() {
  $('legend-items').innerHTML = ['red', 'orange', 'yellow', 'green', 'unknown'].map((l) => `<li><span class="swatch" style="background:${cfg.levels[l].color}"></span>${escapeHtml(both(cfg.levels[l]))}</li>`).join('');
}

/** A province or district of the day's map (districts were abolished on 1 July 2025). */
const onDay = (p) => (!p.valid_from || p.valid_from <= state.date) && (!p.valid_to || p.valid_to >= state.date);

function scopePickers() {
  const provinces = cfg.places.filter((p) => p.kind === 'province' && onDay(p));
  const scope = state.scope ? placeByCode.get(state.scope) : null;
  const province = scope ? (scope.kind === 'province' ? scope.code : scope.parent) : '';
  $('province').innerHTML = `<option value="">${t('all')}</option>${provinces.map((p) => `<option value="${escapeHtml(p.code)}"${p.code === province ? ' selected' : ''}>${escapeHtml(p.name)}</option>`).join('')}`;
  // a province's districts; with one province (or none), every district
  const districts = cfg.places.filter((p) => p.kind === 'district' && onDay(p) && (province ? p.parent === province : provinces.length <= 1));
  $('district').innerHTML = `<option value="">${t('allDistricts')}</option>${districts.map((p) => `<option value="${escapeHtml(p.code)}"${scope && p.code === scope.code ? ' selected' : ''}>${escapeHtml(p.name)}</option>`).join('')}`;
  $('district').disabled = districts.length === 0;
}

function setScope(code) {
  state.scope = code || null;
  scopePickers();
  view.fitScope();
  view.refresh();
  writeHash();
  loadScope();
}

function dateControls() {
  const slider = $('date');
  const days = cfg.days;
  slider.max = String(Math.max(0, days.length - 1));
  const show = () => {
    $('date-text').value = dmy(state.date);
    const i = days.indexOf(state.date);
    if (i >= 0) slider.value = String(i);
    $('date-error').textContent = days.length ? '' : t('noDay');
  };
  show();
  let timer = null;
  slider.addEventListener('input', () => {
    state.date = days[Number(slider.value)] || state.date;
    $('date-text').value = dmy(state.date);
    $('date-error').textContent = '';
    view.refresh();
    // the panels follow when the slider rests
    clearTimeout(timer);
    timer = setTimeout(dayChanged, 250);
  });
  $('date-text').addEventListener('change', () => {
    const d = parseDmy($('date-text').value);
    if (!d || d > addDays(cfg.today, 1)) {
      $('date-error').textContent = t('badDate');
      return;
    }
    $('date-error').textContent = '';
    state.date = d;
    show();
    view.refresh();
    dayChanged();
  });
  hooks.setDate = (d) => {
    state.date = d;
    show();
    view.refresh();
    return dayChanged();
  };
}

function dayChanged() {
  // the districts of the day (none after 1 July 2025)
  scopePickers();
  writeHash();
  const work = loadScope();
  if (!unpublished()) refreshArea();
  return work;
}

function toggles() {
  for (const input of document.querySelectorAll('input[name="kind"]')) {
    input.checked = input.value === state.kind;
    input.addEventListener('change', () => {
      state.kind = input.value;
      view.refresh();
      writeHash();
    });
  }
  for (const input of document.querySelectorAll('input[name="version"]')) {
    input.checked = input.value === state.version;
    input.addEventListener('change', () => {
      state.version = input.value;
      view.refresh();
      dayChanged();
    });
  }
  $('province').addEventListener('change', () => setScope($('province').value));
  $('district').addEventListener('change', () => setScope($('district').value || $('province').value));
}

function tabs() {
  $('tabs').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-tab]');
    if (b) showTab(b.dataset.tab);
  });
}
function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('#tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== tab;
  writeHash();
}
function sheet(open) {
  document.body.classList.toggle('sheet-open', open);
  $('sheet-toggle').setAttribute('aria-expanded', String(open));
  $('sheet-toggle').textContent = open ? '▾' : '▴';
}

const districtOf = (code, zonesByCode) => {
  const z = zonesByCode.get(code);
  const parent = z && z.parent ? placeByCode.get(z.parent) : null;
  return parent ? parent.name : '';
};

/** The published days, asked for when the published version is shown (a publication can come at any time). */
let publishedDays = new Set();
async function refreshPublished() {
  const { items } = await getJson('/v1/publications');
  publishedDays = new Set(items.map((p) => p.date));
}
const unpublished = () => state.version === 'published' && !publishedDays.has(state.date);

/** Everything the steering panel and the list show for the scope, day and version. */
async function loadScope() {
  if (scopeAbort) scopeAbort.abort();
  const abort = (scopeAbort = new AbortController());
  const signal = abort.signal;
  const { date, version, scope } = state;
  hooks.steeringReady = false;
  $('steering').classList.add('loading');
  await guarded($('steering'), async () => {
    if (version === 'published') {
      await refreshPublished();
      view.refresh();
      if (unpublished()) return notPublished(signal);
    }
    const base = new URLSearchParams({ date, version });
    const scoped = new URLSearchParams(base);
    if (scope) scoped.set('parent', scope);
    const under = new URLSearchParams({ date, version, figures: 'true' });
    if (scope) under.set('within', scope);
    const before = new URLSearchParams({ date: addDays(date, -7), version, kind: 'commune' });
    if (scope) before.set('within', scope);
    const changes = new URLSearchParams({ since: addDays(date, -6), until: date, kind: 'commune', version });
    if (scope) changes.set('parent', scope);
    // the list as soon as its two reads are in; the panel when everything is
    const zonesRead = getJson(`/v1/zones?${under}`, { signal });
    const beforeRead = version === 'published' && !publishedDays.has(addDays(date, -7)) ? { items: [] } : getJson(`/v1/zones?${before}`, { signal });
    const listed = Promise.all([zonesRead, beforeRead]).then(([zones, weekBefore]) => {
      if (signal.aborted) return;
      const byCode = new Map(zones.items.map((z) => [z.code, z]));
      const levelBefore = new Map(weekBefore.items.map((z) => [z.code, z.level_number]));
      list.setRows(
        zones.items
          .filter((z) => z.kind === 'commune')
          .map((z) => {
            const b = levelBefore.get(z.code);
            return {
              code: z.code,
              name: z.name,
              district: districtOf(z.code, byCode),
              level: z.level,
              level_number: z.level_number,
              community_cases_7d: z.community_cases_7d,
              incidence_per_100k_7d: z.incidence_per_100k_7d,
              since: z.since,
              trend: z.level_number !== null && b !== null && b !== undefined ? z.level_number - b : null,
            };
          }),
      );
      mark('list_filled');
    });
    const [summary, feed, zones, timeline, scopeZone] = await Promise.all([
      getJson(`/v1/summary?${scoped}`, { signal }),
      allChanges(changes, { signal }),
      zonesRead,
      getJson('/v1/rule-sets/timeline', { signal }),
      scope ? getJson(`/v1/zones/${encodeURIComponent(scope)}?${base}`, { signal }) : null,
      listed,
    ]);
    if (signal.aborted) return;
    const byCode = new Map(zones.items.map((z) => [z.code, z]));
    const q = new URLSearchParams({ date, version });
    if (scope) q.set('parent', scope);
    renderSteering($('steering'), {
      cfg,
      state,
      summary,
      changes: feed,
      zones: zones.items,
      scopeZone,
      timeline,
      briefingQuery: q.toString(),
      districtName: (code) => districtOf(code, byCode),
    });
    if (testHooks) Object.assign(hooks, { summary, feed, list, steeringReady: true, ready: hooks.mapReady === true });
  });
  $('steering').classList.remove('loading');
}

/** A day without a publication, in the published version: said so, with the way to the last published day. */
function notPublished(signal) {
  if (signal.aborted) return;
  const last = [...publishedDays].filter((d) => d <= state.date).sort().at(-1) ?? [...publishedDays].sort().at(-1);
  list.setRows([]);
  $('steering').innerHTML = `<div class="notice" id="not-published"><p>${t('notPublished').replace('{date}', dmy(state.date))}</p>${
    last ? `<button type="button" id="go-published">${t('lastPublished')}: ${dmy(last)}</button>` : `<p class="muted">${t('noPublication')}</p>`
  }</div>`;
  if (last) $('go-published').addEventListener('click', () => hooks.setDate(last));
  if (testHooks) Object.assign(hooks, { summary: null, steeringReady: true });
}

async function selectArea(code, fly, lngLat) {
  state.selected = code;
  writeHash();
  list.select(code);
  const p = placeByCode.get(code);
  view.select(code, fly && p ? p.bbox : null);
  if (fly && !p) {
    // a commune: its extent from its feature
    getJson(`/v1/areas/${encodeURIComponent(code)}`)
      .then((f) => view.select(code, bounds(f.geometry)))
      .catch(() => undefined);
  }
  showTab('area');
  if (phone()) {
    sheet(true);
    // the sheet covers the lower part of the screen: the commune moves into the part above it
    if (lngLat) view.map.easeTo({ center: lngLat, offset: [0, -Math.round(window.innerHeight * 0.3)], duration: 300 });
  }
  return refreshArea();
}

/** The selected area's panel for the day, version and language (the tab shown stays). */
async function refreshArea() {
  const code = state.selected;
  if (!code) return;
  if (areaAbort) areaAbort.abort();
  const abort = (areaAbort = new AbortController());
  $('area').innerHTML = `<p class="muted">${t('loading')}</p>`;
  const res = await guarded($('area'), () => loadArea($('area'), { cfg, state, code, signal: abort.signal, testHooks }));
  if (res && testHooks && !abort.signal.aborted) Object.assign(hooks, { details: res.zone, chart: res.chart });
}

function search() {
  let ticket = 0;
  $('search').addEventListener('input', async (e) => {
    const q = e.target.value.trim();
    const mine = ++ticket;
    if (q.length < 2) return ($('search-results').innerHTML = '');
    const res = await getJson(`/v1/areas?q=${encodeURIComponent(q)}&limit=8`).catch(() => null);
    if (mine !== ticket || !res) return;
    $('search-results').innerHTML = res.items.map((a) => `<li><button type="button" data-code="${escapeHtml(a.code)}" data-kind="${a.kind}">${escapeHtml(a.name)} <span class="muted">${escapeHtml(t(`kind_${a.kind}`))}</span></button></li>`).join('');
  });
  $('search-results').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    $('search-results').innerHTML = '';
    $('search').value = '';
    if (b.dataset.kind === 'province' || b.dataset.kind === 'district') setScope(b.dataset.code);
    else selectArea(b.dataset.code, true);
  });
}

/** The printable briefing in a new tab (with the key, when reads need one, fetched first). */
async function openPage(path) {
  if (!hasKey()) {
    window.open(path, '_blank', 'noopener');
    return;
  }
  // a new tab cannot send the key: the page is fetched with it and shown from memory. Its
  // download links could not send the key either: they are taken out (the panel's buttons
  // download the same files with the key)
  const res = await fetch(path, { headers: authHeaders() });
  if (!res.ok) throw new RequestFailed(res.status, res.statusText);
  const html = (await res.text()).replace(/<p class="links">[\s\S]*?<\/p>/, '');
  const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
  const w = window.open(url, '_blank');
  if (!w) location.assign(url);
  setTimeout(() => URL.revokeObjectURL(url), 10 * 60_000);
}

function bounds(geometry) {
  if (!geometry || !geometry.coordinates) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      x0 = Math.min(x0, c[0]);
      y0 = Math.min(y0, c[1]);
      x1 = Math.max(x1, c[0]);
      y1 = Math.max(y1, c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return Number.isFinite(x0) ? [x0, y0, x1, y1] : null;
}

start();
