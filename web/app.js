/* The command-centre map: zones in their level colours for a day, the counts in view,
   search, and one area's level explained. Served by zonerisk itself; no internet needed
   (MapLibre comes from the app, and there is no basemap unless one is configured). */
'use strict';

(async function main() {
  const $ = (id) => document.getElementById(id);
  const cfg = await (await fetch('/ui/config.json')).json();
  const levels = cfg.levels; // green..red, unknown: { vi, en, color, number }
  const days = cfg.days; // every day with levels, oldest first
  const state = { date: days.length ? days[days.length - 1] : cfg.today, selected: null };
  window.zonerisk = { state, ready: false, map: null };

  const tilesUrl = (date) => `${location.origin}/tiles/zones/{z}/{x}/{y}.mvt?date=${date}&kind=commune`;
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } }];
  const sources = { zones: { type: 'vector', tiles: [tilesUrl(state.date)], minzoom: 0, maxzoom: 14 } };
  if (cfg.basemap) {
    sources.basemap = { type: 'raster', tiles: [cfg.basemap], tileSize: 256, attribution: cfg.basemap_attribution || '' };
    layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  layers.push(
    { id: 'zones-fill', type: 'fill', source: 'zones', 'source-layer': 'zones', paint: { 'fill-color': ['get', 'color'], 'fill-opacity': cfg.basemap ? 0.6 : 0.85 } },
    { id: 'zones-line', type: 'line', source: 'zones', 'source-layer': 'zones', paint: { 'line-color': '#ffffff', 'line-width': 0.7 } },
    { id: 'zones-selected', type: 'line', source: 'zones', 'source-layer': 'zones', filter: ['==', ['get', 'code'], ''], paint: { 'line-color': '#111111', 'line-width': 2.5 } },
  );

  const map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources, layers },
    bounds: cfg.bounds || [102, 8, 110, 23.5],
    fitBoundsOptions: { padding: 24 },
    canvasContextAttributes: { preserveDrawingBuffer: true }, // lets a test sample pixels
  });
  window.zonerisk.map = map;
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');

  // legend, Vietnamese and English
  $('legend-items').innerHTML = ['green', 'yellow', 'orange', 'red', 'unknown']
    .map((l) => `<li><span class="swatch" style="background:${levels[l].color}"></span>${levels[l].vi} <span class="en">/ ${levels[l].en}</span></li>`)
    .join('');

  // the date slider over every day with levels
  const slider = $('date');
  slider.max = String(Math.max(0, days.length - 1));
  slider.value = slider.max;
  $('date-label').textContent = state.date;
  slider.addEventListener('input', () => {
    state.date = days[Number(slider.value)] || state.date;
    $('date-label').textContent = state.date;
    map.getSource('zones').setTiles([tilesUrl(state.date)]);
    if (state.selected) select(state.selected);
  });

  // counts and population per level among the communes in view
  function summarize() {
    const seen = new Map();
    for (const f of map.queryRenderedFeatures({ layers: ['zones-fill'] })) seen.set(f.properties.code, f.properties);
    const rows = ['red', 'orange', 'yellow', 'green', 'unknown'].map((l) => {
      const zs = [...seen.values()].filter((p) => p.level === l);
      const people = zs.reduce((s, p) => s + (Number(p.population) || 0), 0);
      return `<tr data-level="${l}"><td><span class="swatch" style="background:${levels[l].color}"></span>${levels[l].vi.split(' – ')[0]} <span class="en">${l}</span></td><td class="num">${zs.length}</td><td class="num">${people.toLocaleString('vi-VN')}</td></tr>`;
    });
    $('summary-rows').innerHTML = `<tr><td></td><td class="num">xã <span class="en">areas</span></td><td class="num">dân số <span class="en">people</span></td></tr>${rows.join('')}`;
    window.zonerisk.counts = Object.fromEntries(['red', 'orange', 'yellow', 'green', 'unknown'].map((l) => [l, [...seen.values()].filter((p) => p.level === l).length]));
    return seen.size;
  }
  map.on('idle', () => {
    const n = summarize();
    if (n > 0) window.zonerisk.ready = true;
  });

  // one area: its level, since when, inputs and the explanation
  async function select(code) {
    state.selected = code;
    map.setFilter('zones-selected', ['==', ['get', 'code'], code]);
    const res = await fetch(`/v1/zones/${encodeURIComponent(code)}?date=${state.date}`);
    if (!res.ok) return;
    const z = await res.json();
    const info = levels[z.level];
    $('details').hidden = false;
    $('details-name').textContent = `${z.name} (${z.code})`;
    $('details-level').innerHTML = `<span class="swatch" style="background:${info.color}"></span>${info.vi} <span class="en">/ ${info.en}</span>${z.override ? ` — quyết định của BCĐ / override: ${escapeHtml(z.override.reason)}` : ''}`;
    $('details-since').textContent = z.since ? `Từ ngày / since ${z.since}` : '';
    $('details-inputs').innerHTML = Object.entries(z.inputs || {})
      .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${v === null ? `— ${escapeHtml((z.input_details[k] || {}).missing || '')}` : fmt(v)}</td></tr>`)
      .join('');
    $('details-explanation').innerHTML = (z.explanation || []).map((s) => `<li>${escapeHtml(s.note)}</li>`).join('');
    window.zonerisk.details = z;
  }
  map.on('click', 'zones-fill', (e) => e.features && e.features[0] && select(e.features[0].properties.code));
  map.on('mouseenter', 'zones-fill', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'zones-fill', () => (map.getCanvas().style.cursor = ''));

  // search by name (diacritics optional)
  let pending = 0;
  $('search').addEventListener('input', async (e) => {
    const q = e.target.value.trim();
    const ticket = ++pending;
    if (q.length < 2) return ($('search-results').innerHTML = '');
    const res = await fetch(`/v1/areas?q=${encodeURIComponent(q)}&limit=8`);
    if (ticket !== pending || !res.ok) return;
    const { items } = await res.json();
    $('search-results').innerHTML = items.map((a) => `<li><button data-code="${escapeHtml(a.code)}">${escapeHtml(a.name)} <span class="en">${a.kind}</span></button></li>`).join('');
  });
  $('search-results').addEventListener('click', async (e) => {
    const button = e.target.closest('button');
    if (!button) return;
    const code = button.dataset.code;
    const feature = await (await fetch(`/v1/areas/${encodeURIComponent(code)}`)).json();
    const bbox = bounds(feature.geometry);
    if (bbox) map.fitBounds(bbox, { padding: 40, maxZoom: 12 });
    $('search-results').innerHTML = '';
    select(code);
  });

  function bounds(geometry) {
    if (!geometry || !geometry.coordinates) return null;
    const positions = geometry.coordinates.flat(geometry.type === 'MultiPolygon' ? 2 : 1);
    if (!positions.length) return null;
    const xs = positions.map((p) => p[0]);
    const ys = positions.map((p) => p[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  }
  function fmt(v) {
    return Number.isInteger(v) ? v.toLocaleString('vi-VN') : v.toFixed(2);
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }
})();
