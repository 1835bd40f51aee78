// Every commune of the scope in a table: sortable by any column, filtered by name (accents
// optional) and level, virtualised (only the rows in sight are in the document, so a country's
// 10,600 communes scroll as smoothly as a district's 20). A click selects the commune.
import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';
import { both, dmy, escapeHtml, fold, num, t } from './text.js';

const ROW = 30; // px, fixed: the table needs no measuring
const collator = new Intl.Collator('vi');

/** How each column sorts: numbers descending first, text ascending; missing values last. */
const COLUMNS = [
  { key: 'level_number', label: 'level', num: true, first: 'desc' },
  { key: 'name', label: 'name', num: false, first: 'asc' },
  { key: 'district', label: 'districtCol', num: false, first: 'asc' },
  { key: 'community_cases_7d', label: 'cases7', num: true, first: 'desc' },
  { key: 'incidence_per_100k_7d', label: 'incidence', num: true, first: 'desc' },
  { key: 'since', label: 'since', num: false, first: 'desc' },
  { key: 'trend', label: 'trend', num: true, first: 'desc' },
];

/**
 * The order of the list: by `key` in `dir`, missing values last whatever the direction, then
 * by name and code. Exported so that a test compares the page's order with the API's rows
 * sorted by the same rule.
 */
export function compareRows(key, dir) {
  const sign = dir === 'asc' ? 1 : -1;
  return (a, b) => {
    const x = a[key];
    const y = b[key];
    if (x !== y) {
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      const c = typeof x === 'number' ? x - y : collator.compare(x, y);
      if (c !== 0) return sign * c;
    }
    return collator.compare(a.name, b.name) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  };
}

export function createList(box, { cfg, onSelect }) {
  const levels = cfg.levels;
  let rows = [];
  let shown = [];
  let sort = { key: 'level_number', dir: 'desc' };
  let filter = '';
  const hidden = new Set();
  let selected = null;

  box.innerHTML = `
    <div class="list-tools">
      <input type="search" id="list-filter" autocomplete="off">
      <span id="list-levels"></span>
      <output id="list-count"></output>
    </div>
    <div class="list-head" role="row"></div>
    <div class="list-body" id="list-body" role="grid" tabindex="0"><div class="list-space"></div></div>`;
  const head = box.querySelector('.list-head');
  const body = box.querySelector('#list-body');
  const space = box.querySelector('.list-space');
  const filterBox = box.querySelector('#list-filter');
  const chips = box.querySelector('#list-levels');

  const v = new Virtualizer({
    count: 0,
    getScrollElement: () => body,
    estimateSize: () => ROW,
    overscan: 8,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    onChange: () => paint(),
  });
  const unmount = v._didMount();
  v._willUpdate();

  function labels() {
    filterBox.placeholder = t('filter');
    head.innerHTML = COLUMNS.map((c) => `<button type="button" class="col col-${c.key}${sort.key === c.key ? ` sorted ${sort.dir}` : ''}" data-key="${c.key}" aria-sort="${sort.key === c.key ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none'}">${t(c.label)}</button>`).join('');
    chips.innerHTML = ['red', 'orange', 'yellow', 'green', 'unknown'].map((l) => `<label class="chip" title="${escapeHtml(both(levels[l]))}"><input type="checkbox" data-level="${l}"${hidden.has(l) ? '' : ' checked'}><span class="swatch" style="background:${levels[l].color}"></span></label>`).join('');
  }

  function apply() {
    const q = fold(filter.trim());
    shown = rows.filter((r) => !hidden.has(r.level) && (!q || r.search.includes(q))).sort(compareRows(sort.key, sort.dir));
    box.querySelector('#list-count').textContent = `${num(shown.length)}/${num(rows.length)} ${t('rows')}`;
    v.setOptions({ ...v.options, count: shown.length });
    v._willUpdate();
    space.style.height = `${v.getTotalSize()}px`;
    v.measure();
    paint();
  }

  function paint() {
    space.style.height = `${v.getTotalSize()}px`;
    space.innerHTML = v
      .getVirtualItems()
      .map(({ index, start }) => {
        const r = shown[index];
        const trend = r.trend === null ? '' : r.trend > 0 ? '<span class="up" title="↑">▲</span>' : r.trend < 0 ? '<span class="down" title="↓">▼</span>' : '<span class="same">→</span>';
        return `<div class="row${r.code === selected ? ' selected' : ''}" role="row" data-index="${index}" data-code="${escapeHtml(r.code)}" style="transform:translateY(${start}px)">
          <span class="col col-level_number"><span class="swatch" style="background:${levels[r.level].color}"></span>${r.level_number ?? '–'}</span>
          <span class="col col-name">${escapeHtml(r.name)}</span>
          <span class="col col-district">${escapeHtml(r.district)}</span>
          <span class="col col-community_cases_7d num">${num(r.community_cases_7d)}</span>
          <span class="col col-incidence_per_100k_7d num">${num(r.incidence_per_100k_7d, 1, true)}</span>
          <span class="col col-since">${dmy(r.since)}</span>
          <span class="col col-trend">${trend}</span></div>`;
      })
      .join('');
  }

  head.addEventListener('click', (e) => {
    const b = e.target.closest('button[data-key]');
    if (!b) return;
    const col = COLUMNS.find((c) => c.key === b.dataset.key);
    sort = sort.key === col.key ? { key: col.key, dir: sort.dir === 'asc' ? 'desc' : 'asc' } : { key: col.key, dir: col.first };
    labels();
    apply();
  });
  filterBox.addEventListener('input', () => {
    filter = filterBox.value;
    apply();
  });
  chips.addEventListener('change', (e) => {
    const l = e.target.dataset.level;
    if (e.target.checked) hidden.delete(l);
    else hidden.add(l);
    apply();
  });
  body.addEventListener('click', (e) => {
    const row = e.target.closest('.row');
    if (row) onSelect(row.dataset.code);
  });

  labels();
  return {
    /** New rows: { code, name, district, level, level_number, community_cases_7d, incidence_per_100k_7d, since, trend }. */
    setRows(next) {
      rows = next.map((r) => ({ ...r, search: fold(`${r.name} ${r.district}`) }));
      apply();
    },
    select(code) {
      selected = code;
      const i = shown.findIndex((r) => r.code === code);
      if (i >= 0) v.scrollToIndex(i, { align: 'center' });
      paint();
    },
    sortBy(key, dir) {
      sort = { key, dir };
      labels();
      apply();
    },
    relabel() {
      labels();
      apply();
    },
    /** The codes in the order shown (a test compares them with the API's). */
    order: () => shown.map((r) => r.code),
    destroy: unmount,
  };
}
