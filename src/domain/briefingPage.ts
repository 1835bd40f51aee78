import { Briefing, BRIEFING_LEVELS, BriefingCommune, DIRECTION_LABEL, levelLabelVi, VERSION_LABEL, viDate, viNumber } from './briefing';
import { MapDrawing, mapSvg } from './briefingMap';
import { escapeHtml } from './html';
import { LEVEL_INFO, LevelOrUnknown } from './levels';

/**
 * The printable briefing page (GET /briefing), pure: one HTML document from the briefing and
 * its map, in the order a steering committee reads it — heading, map, counts with the week
 * before, the 24 hours, the red and orange communes, the week's changes, the overrides, the
 * rule set, the communes not reporting. Vietnamese first, English beside it in smaller text;
 * numbers vi-VN, dates dd/mm/yyyy. No script; its style inline (print: A4, 12 mm margins,
 * rows never split, nothing wider than the page). Every text from the data is escaped.
 */

/** Where the same briefing is downloaded (relative URLs with the page's query). */
export type BriefingLinks = { xlsx: string; pdf: string; csv: string; json: string };

const e = escapeHtml;
const num = (v: number | null): string => (v === null ? '–' : viNumber(v));
const signed = (v: number | null): string => (v === null ? '–' : v > 0 ? `+${viNumber(v)}` : viNumber(v));
const en = (text: string) => `<span class="en" lang="en">${e(text)}</span>`;
/** A header cell: Vietnamese, English below it. */
const th = (vi: string, english: string, cls = '') => `<th${cls ? ` class="${cls}"` : ''}>${e(vi)}<br>${en(english)}</th>`;
const levelCell = (l: LevelOrUnknown) => `<td><span class="swatch lv-${l}"></span>${e(levelLabelVi(l))}</td>`;

const STYLE = `
@page { size: A4; margin: 12mm }
* { box-sizing: border-box }
html { font-family: "DejaVu Sans", "Noto Sans", Arial, sans-serif; font-size: 10pt; color: #111; -webkit-print-color-adjust: exact; print-color-adjust: exact }
body { margin: 0 auto; padding: 6mm; max-width: 210mm }
h1 { font-size: 15pt; margin: 0 0 2pt; text-align: center }
h1 + .en, .subtitle { display: block; text-align: center }
h2 { font-size: 11.5pt; margin: 12pt 0 4pt; break-after: avoid; page-break-after: avoid }
p { margin: 3pt 0 }
.en { font-size: 80%; color: #555; font-weight: normal }
.meta { text-align: center; margin: 4pt 0 }
.links { text-align: center; margin: 6pt 0 }
.links a { margin: 0 6pt }
figure { margin: 6pt 0; break-inside: avoid; page-break-inside: avoid }
figure svg { display: block; width: 100%; max-width: 100%; height: auto; max-height: 150mm }
table { width: 100%; max-width: 100%; border-collapse: collapse; table-layout: fixed; margin: 3pt 0 }
thead { display: table-header-group }
tr, td, th { break-inside: avoid; page-break-inside: avoid }
th, td { border-bottom: 0.5pt solid #aaa; padding: 2pt 3pt; text-align: left; vertical-align: top; overflow-wrap: anywhere; font-size: 8.5pt }
th { background: #e8e8e8; font-weight: bold }
td.num, th.num { text-align: right }
td.num { white-space: nowrap; overflow-wrap: normal }
th { overflow-wrap: normal; word-break: normal; hyphens: none }
tr.total td { font-weight: bold }
.swatch { display: inline-block; width: 8pt; height: 8pt; margin-right: 3pt; border: 0.5pt solid #555; vertical-align: middle }
.sentence { font-weight: bold; font-size: 10.5pt }
.note { color: #444; font-size: 8.5pt }
footer { margin-top: 10pt; font-size: 7.5pt; color: #555 }
@media print { body { padding: 0; max-width: none } .links { display: none } }
${(Object.keys(LEVEL_INFO) as LevelOrUnknown[]).map((l) => `.lv-${l} { background: ${LEVEL_INFO[l].color} }`).join('\n')}
${Array.from({ length: 40 }, (_x, i) => `col.w${i + 1} { width: ${i + 1}% }`).join('\n')}
`;

function table(head: string, rows: string[], cols?: number[]): string {
  // widths as classes (no style attributes: the page's only style is its <style> element)
  const colgroup = cols ? `<colgroup>${cols.map((w) => `<col class="w${w}">`).join('')}</colgroup>` : '';
  return `<table>${colgroup}<thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function communeRows(list: BriefingCommune[]): string[] {
  return list.map(
    (c, i) =>
      `<tr><td class="num">${i + 1}</td><td>${e(c.district?.name ?? '')}</td><td>${e(c.name)}</td>${levelCell(c.level)}<td class="num">${num(c.community_cases_7d)}</td><td class="num">${num(c.incidence_per_100k_7d)}</td><td>${c.since ? viDate(c.since) : ''}</td><td>${c.override ? e(c.override.reason) : ''}</td></tr>`,
  );
}

/** The page. `map` null: no geometry to draw (the section says so). */
export function briefingPage(b: Briefing, map: MapDrawing | null, links: BriefingLinks): string {
  const title = `${b.title.vi} — ${b.area.name} — ${viDate(b.date)}`;
  const out: string[] = [];
  out.push('<!doctype html>');
  out.push(`<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${e(title)}</title><style>${STYLE}</style></head><body>`);

  // heading
  out.push('<header>');
  out.push(`<h1>${e(b.title.vi.toUpperCase())}</h1>${en(b.title.en)}`);
  const kind = b.area.kind_label ? `${b.area.kind_label.vi} ` : '';
  out.push(`<p class="subtitle"><strong>${e(b.area.name)}</strong>${b.area.code ? ` <span class="en">(${e(kind)}${e(b.area.code)})</span>` : ''}</p>`);
  out.push(
    `<p class="meta">Ngày ${viDate(b.date)} — tuần từ ${viDate(b.week.from)} đến ${viDate(b.week.to)} (${e(VERSION_LABEL[b.version].vi)}) ${en(`week ${viDate(b.week.from)}–${viDate(b.week.to)}, ${VERSION_LABEL[b.version].en}`)}</p>`,
  );
  out.push(`<p class="meta">Tính toán lúc: ${e(b.data_as_of_text ?? 'chưa tính cấp độ cho ngày này')} ${en('computed at')}</p>`);
  if (b.version === 'published') {
    const since = b.changes.compared_with ? viDate(b.changes.compared_with) : 'không có';
    out.push(`<p class="meta">Thay đổi so với lần công bố trước (${since}) ${en(`changes compared with the previous publication (${since})`)}</p>`);
  }
  for (const m of b.map_changes) out.push(`<p class="meta"><strong>${e(m.text.vi)}</strong> ${en(m.text.en)}</p>`);
  out.push(`<p class="links">Tải về ${en('download')}: <a href="${e(links.pdf)}">PDF</a> <a href="${e(links.xlsx)}">XLSX</a> <a href="${e(links.csv)}">CSV</a> <a href="${e(links.json)}">JSON</a></p>`);
  out.push('</header>');

  // the map
  out.push('<section id="map"><h2>Bản đồ cấp độ dịch ' + en('levels map') + '</h2>');
  if (map && map.communes.length > 0) out.push(`<figure>${mapSvg(map, `Bản đồ cấp độ dịch — ${b.area.name} — ${viDate(b.date)}`)}</figure>`);
  else out.push('<p class="note">Không có dữ liệu ranh giới để vẽ bản đồ.</p>');
  out.push('</section>');

  // counts with the week before
  out.push(`<section id="counts"><h2>1. Số xã, phường và dân số theo cấp độ ${en(`communes and people per level, compared with ${viDate(b.counts.week_before_date)}`)}</h2>`);
  const wb = viDate(b.counts.week_before_date);
  const countRows = BRIEFING_LEVELS.map((l) => {
    const c = b.counts.by_level[l];
    return `<tr>${levelCell(l)}<td class="num">${num(c.areas)}</td><td class="num">${num(c.population)}</td><td class="num">${num(c.week_before?.areas ?? null)}</td><td class="num">${num(c.week_before?.population ?? null)}</td><td class="num">${signed(c.change?.areas ?? null)}</td><td class="num">${signed(c.change?.population ?? null)}</td></tr>`;
  });
  const t = b.counts.total;
  countRows.push(
    `<tr class="total"><td>Tổng</td><td class="num">${num(t.areas)}</td><td class="num">${num(t.population)}</td><td class="num">${num(t.week_before?.areas ?? null)}</td><td class="num">${num(t.week_before?.population ?? null)}</td><td class="num">${signed(t.change?.areas ?? null)}</td><td class="num">${signed(t.change?.population ?? null)}</td></tr>`,
  );
  out.push(
    table(
      th('Cấp độ', 'level') + th('Số xã, phường', 'communes', 'num') + th('Dân số', 'people', 'num') + th(`Số xã, phường ${wb}`, 'communes a week before', 'num') + th(`Dân số ${wb}`, 'people a week before', 'num') + th('Thay đổi số xã, phường', 'change', 'num') + th('Thay đổi dân số', 'change', 'num'),
      countRows,
      [25, 11, 14, 11, 14, 11, 14],
    ),
  );
  out.push('</section>');

  // the 24 hours
  out.push(`<section id="last-24h"><h2>2. Tình hình 24 giờ qua ${en('the past 24 hours')}</h2>`);
  out.push(`<p class="sentence">${e(b.last_24h.sentence.vi)}</p><p>${en(b.last_24h.sentence.en)}</p>`);
  const dayRows = BRIEFING_LEVELS.map((l) => {
    const c = b.last_24h.by_level[l];
    return `<tr>${levelCell(l)}<td class="num">${num(c.areas)}</td><td class="num">${num(c.no_new_community_cases_24h)}</td><td class="num">${num(c.not_reported_24h)}</td></tr>`;
  });
  const d = b.last_24h.total;
  dayRows.push(`<tr class="total"><td>Tổng</td><td class="num">${num(d.areas)}</td><td class="num">${num(d.no_new_community_cases_24h)}</td><td class="num">${num(d.not_reported_24h)}</td></tr>`);
  out.push(table(th('Cấp độ', 'level') + th('Số xã, phường', 'communes', 'num') + th('Không có ca mắc mới trong cộng đồng', 'no new community case', 'num') + th('Chưa báo cáo', 'not reported', 'num'), dayRows, [34, 18, 30, 18]));
  out.push('</section>');

  // red and orange communes
  out.push(`<section id="hotspots"><h2>3. Xã, phường vùng đỏ (Cấp 4) và vùng cam (Cấp 3): ${viNumber(b.hotspots.length)} ${en('red and orange communes')}</h2>`);
  if (b.hotspots.length === 0) out.push('<p>Không có xã, phường nào ở Cấp 3 hoặc Cấp 4.</p>');
  else
    out.push(
      table(
        th('STT', 'no.', 'num') + th('Huyện', 'district') + th('Xã/phường', 'commune') + th('Cấp độ', 'level') + th('Ca cộng đồng 7 ngày', 'community cases, 7 days', 'num') + th('Tỷ lệ/100.000 dân', 'per 100,000', 'num') + th('Từ ngày', 'since') + th('Quyết định BCĐ', 'override'),
        communeRows(b.hotspots),
        [6, 15, 17, 18, 10, 10, 10, 14],
      ),
    );
  out.push('</section>');

  // the week's changes
  out.push(
    `<section id="changes"><h2>4. Thay đổi cấp độ trong tuần: ${viNumber(b.changes.escalated)} tăng cấp, ${viNumber(b.changes.deescalated)} giảm cấp ${en(`changes of the week: ${b.changes.escalated} escalated, ${b.changes.deescalated} de-escalated`)}</h2>`,
  );
  if (b.version === 'published') {
    out.push(
      `<p class="note">Số liệu đã công bố: mỗi ngày công bố được so với lần công bố trước đó${b.changes.compared_with ? ` — ngày đầu tiên so với lần công bố trước (${viDate(b.changes.compared_with)})` : ''}. ${en('Published data: each published day is compared with the publication before it.')}</p>`,
    );
  }
  if (b.changes.items.length === 0) out.push('<p>Không có xã, phường nào thay đổi cấp độ trong tuần.</p>');
  else
    out.push(
      table(
        th('Ngày', 'date') + th('Huyện', 'district') + th('Xã/phường', 'commune') + th('Từ', 'from') + th('Sang', 'to') + th('Chiều', 'direction') + th('Lý do', 'reason'),
        b.changes.items.map(
          (c) =>
            `<tr><td>${viDate(c.date)}</td><td>${e(c.district?.name ?? '')}</td><td>${e(c.name)}</td>${levelCell(c.from)}${levelCell(c.to)}<td>${e(DIRECTION_LABEL[c.direction].vi)}</td><td>${e(c.reason_text.vi)}<br>${en(c.reason_text.en)}</td></tr>`,
        ),
        [10, 13, 14, 15, 15, 9, 24],
      ),
    );
  out.push('</section>');

  // overrides in force
  out.push(`<section id="overrides"><h2>5. Quyết định điều chỉnh cấp độ của Ban chỉ đạo đang có hiệu lực: ${viNumber(b.overrides.length)} ${en('command-centre overrides in force')}</h2>`);
  if (b.overrides.length === 0) out.push('<p>Không có quyết định điều chỉnh nào có hiệu lực trong ngày.</p>');
  else
    out.push(
      table(
        th('Địa bàn', 'area') + th('Cấp độ', 'level') + th('Lý do', 'reason') + th('Người quyết định', 'decided by') + th('Từ ngày', 'from') + th('Đến ngày', 'until'),
        b.overrides.map(
          (o) =>
            `<tr><td>${e(o.name)}${o.district ? `, ${e(o.district.name)}` : ''}</td>${levelCell(o.level)}<td>${e(o.reason)}${o.note ? `<br><span class="note">${e(o.note)}</span>` : ''}</td><td>${e(o.author ?? '')}</td><td>${viDate(o.from)}</td><td>${o.until ? viDate(o.until) : 'chưa hết hạn'}</td></tr>`,
        ),
        [22, 18, 26, 14, 10, 10],
      ),
    );
  out.push('</section>');

  // rule set
  out.push(`<section id="rule-set"><h2>6. Bộ tiêu chí áp dụng ${en('rule set in force')}</h2>`);
  const r = b.rule_set;
  out.push(r ? `<p>${e(r.name)} (${e(r.id)}${r.effective_from ? `, hiệu lực từ ${viDate(r.effective_from)}` : ''}${r.effective_to ? ` đến ${viDate(r.effective_to)}` : ''})</p>` : '<p>Chưa có bộ tiêu chí có hiệu lực.</p>');
  out.push('</section>');

  // not reporting
  out.push(`<section id="not-reporting"><h2>7. Xã, phường chưa báo cáo ngày ${viDate(b.date)}: ${viNumber(b.not_reporting.length)} ${en('communes not reporting')}</h2>`);
  if (b.not_reporting.length === 0) out.push('<p>Tất cả xã, phường đã báo cáo.</p>');
  else
    out.push(
      table(
        th('STT', 'no.', 'num') + th('Huyện', 'district') + th('Xã/phường', 'commune') + th('Mã', 'code'),
        b.not_reporting.map((c, i) => `<tr><td class="num">${i + 1}</td><td>${e(c.district?.name ?? '')}</td><td>${e(c.name)}</td><td>${e(c.code)}</td></tr>`),
        [8, 32, 36, 24],
      ),
    );
  out.push('</section>');

  out.push(`<footer>Tạo bởi zonerisk — số liệu đọc lúc ${e(b.as_of_text)} ${en(`read as of ${b.as_of}`)}</footer>`);
  out.push('</body></html>\n');
  return out.join('\n');
}
