// The map: the levels of the chosen kind for the day (vector tiles from the service), district
// outlines and names over the communes, the scope's surroundings dimmed, the selected area
// outlined. MapLibre GL is the app's own copy (window.maplibregl, /vendor/maplibre-gl.js).
import { authHeaders } from './api.js';
import { escapeHtml } from './text.js';

const LABEL_ZOOM = 7.5; // district names from this zoom on
const MAX_LABELS = 120;

export function createMap({ cfg, state, testHooks, hidden, onSelect }) {
  const origin = location.origin;
  const tiles = (kind) => {
    const q = new URLSearchParams({ date: state.date, kind });
    if (state.version === 'published') q.set('version', 'published');
    return `${origin}/tiles/zones/{z}/{x}/{y}.mvt?${q}`;
  };
  const sources = {
    zones: { type: 'vector', tiles: [tiles(state.kind)], minzoom: 0, maxzoom: 14 },
    districts: { type: 'vector', tiles: [tiles('district')], minzoom: 0, maxzoom: 14 },
  };
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f5' } }];
  if (cfg.basemap) {
    sources.basemap = { type: 'raster', tiles: [cfg.basemap], tileSize: 256, attribution: cfg.basemap_attribution || '' };
    layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
  }
  const opacity = cfg.basemap ? 0.6 : 0.85;
  layers.push(
    { id: 'zones-fill', type: 'fill', layout: { visibility: 'visible' }, source: 'zones', 'source-layer': 'zones', paint: { 'fill-color': ['get', 'color'], 'fill-opacity': opacity } },
    { id: 'zones-line', type: 'line', layout: { visibility: 'visible' }, source: 'zones', 'source-layer': 'zones', paint: { 'line-color': '#ffffff', 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 0.2, 10, 0.8] } },
    { id: 'district-line', type: 'line', layout: { visibility: 'visible' }, source: 'districts', 'source-layer': 'zones', minzoom: 6, paint: { 'line-color': '#37474f', 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 0.6, 11, 1.8] } },
    { id: 'zones-selected', type: 'line', layout: { visibility: 'visible' }, source: 'zones', 'source-layer': 'zones', filter: ['==', ['get', 'code'], ''], paint: { 'line-color': '#111111', 'line-width': 3 } },
  );
  const map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources, layers },
    bounds: cfg.bounds || [102, 8, 110, 23.5],
    fitBoundsOptions: { padding: 24 },
    attributionControl: cfg.basemap ? undefined : false,
    // our own requests carry the reader's key when reads need one; a basemap's do not
    transformRequest: (url) => (url.startsWith(origin) ? { url, headers: authHeaders() } : { url }),
    // only a test reads the canvas back: it costs every other reader a GPU stall
    ...(testHooks ? { canvasContextAttributes: { preserveDrawingBuffer: true } } : {}),
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
  let loaded = false;
  map.once('load', () => (loaded = true));
  map.on('click', 'zones-fill', (e) => e.features && e.features[0] && onSelect(e.features[0].properties.code, e.lngLat));
  map.on('mouseenter', 'zones-fill', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'zones-fill', () => (map.getCanvas().style.cursor = ''));

  // district names: HTML labels at the districts' label points, those in view only
  const districts = cfg.places.filter((p) => p.kind === 'district');
  const labels = new Map();
  function placeLabels() {
    const show = state.kind !== 'province' && map.getZoom() >= LABEL_ZOOM;
    const b = map.getBounds();
    const wanted = new Set();
    if (show) {
      for (const d of districts) {
        if (wanted.size >= MAX_LABELS) break;
        if (state.scope && !inScope(d)) continue;
        if ((d.valid_from && d.valid_from > state.date) || (d.valid_to && d.valid_to < state.date)) continue;
        if (b.contains(d.label)) wanted.add(d.code);
      }
    }
    for (const [code, marker] of labels) if (!wanted.has(code)) (marker.remove(), labels.delete(code));
    for (const d of districts) {
      if (!wanted.has(d.code) || labels.has(d.code)) continue;
      const el = document.createElement('div');
      el.className = 'district-label';
      el.innerHTML = escapeHtml(d.name);
      labels.set(d.code, new maplibregl.Marker({ element: el }).setLngLat(d.label).addTo(map));
    }
  }
  const byCode = new Map(cfg.places.map((p) => [p.code, p]));
  const inScope = (p) => p.code === state.scope || p.parent === state.scope || byCode.get(p.parent)?.parent === state.scope;
  map.on('moveend', placeLabels);

  /** Dims what lies outside the scope: communes by their district, districts by their province. */
  function dimOutside() {
    if (!state.scope) return map.setPaintProperty('zones-fill', 'fill-opacity', opacity);
    const inside = cfg.places.filter((p) => p.code === state.scope || inScope(p)).map((p) => p.code);
    const expr = ['case', ['any', ['in', ['get', 'parent'], ['literal', inside]], ['==', ['get', 'code'], state.scope]], opacity, 0.2];
    map.setPaintProperty('zones-fill', 'fill-opacity', expr);
  }

  return {
    map,
    /** New tiles after a change of day, version or kind. */
    refresh() {
      if (!loaded) return; // the page refreshes on the map's load
      // a day without levels to show (not published): the layers hidden, so no tile is asked
      // for; the sources take the new address first, so that none keeps a tile of another one
      const none = hidden();
      map.getSource('zones').setTiles([tiles(state.kind)]);
      map.getSource('districts').setTiles([tiles('district')]);
      // (a layout change pauses its source: only what changes is set)
      const show = (id, on) => map.getLayoutProperty(id, 'visibility') !== (on ? 'visible' : 'none') && map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
      for (const id of ['zones-fill', 'zones-line', 'zones-selected']) show(id, !none);
      show('district-line', !none && state.kind === 'commune');
      dimOutside();
      placeLabels();
    },
    /** The map on the scope's extent (everything without a scope). */
    fitScope() {
      if (!loaded) return;
      const p = state.scope ? byCode.get(state.scope) : null;
      const box = p ? p.bbox : cfg.bounds;
      if (box) map.fitBounds(box, { padding: 30, duration: 0 });
      dimOutside();
    },
    select(code, bbox) {
      map.setFilter('zones-selected', ['==', ['get', 'code'], code || '']);
      if (bbox) map.fitBounds(bbox, { padding: 60, maxZoom: 11, duration: 0 });
    },
    /** Codes and levels of the features drawn now (the test asks; the page does not need them). */
    drawn() {
      const seen = new Map();
      for (const f of map.queryRenderedFeatures({ layers: ['zones-fill'] })) seen.set(f.properties.code, f.properties.level);
      return seen;
    },
  };
}
