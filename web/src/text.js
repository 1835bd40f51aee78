// Words and formats of the page: Vietnamese first, English by the switch. Numbers vi-VN
// (2.944.027, 65,1), dates dd/mm/yyyy in both languages.

const WORDS = {
  title: ['Cấp độ dịch', 'Zone risk levels'],
  scope: ['Địa bàn', 'Area'],
  all: ['Toàn bộ địa bàn', 'Everywhere'],
  allDistricts: ['Tất cả huyện', 'All districts'],
  view: ['Hiển thị', 'Show'],
  commune: ['Xã/phường', 'Communes'],
  district: ['Huyện', 'Districts'],
  province: ['Tỉnh', 'Provinces'],
  date: ['Ngày', 'Date'],
  dateHint: ['dd/mm/yyyy', 'dd/mm/yyyy'],
  badDate: ['Ngày không hợp lệ (dd/mm/yyyy)', 'Not a date (dd/mm/yyyy)'],
  version: ['Phiên bản', 'Version'],
  latest: ['Mới nhất', 'Latest'],
  published: ['Đã công bố', 'Published'],
  dataAsOf: ['Số liệu đến', 'Data as of'],
  notComputed: ['chưa tính', 'not computed'],
  tabSteering: ['Tổng hợp', 'Summary'],
  tabList: ['Danh sách', 'List'],
  tabArea: ['Khu vực', 'Area'],
  level: ['Cấp độ', 'Level'],
  areas: ['Số xã, phường', 'Communes'],
  population: ['Dân số', 'Population'],
  last24h: ['24 giờ qua', 'Last 24 hours'],
  noNew: ['Không có ca mới', 'No new case'],
  notReported: ['Chưa báo cáo', 'Not reported'],
  escalated: ['Tăng cấp', 'Escalated'],
  deescalated: ['Giảm cấp', 'De-escalated'],
  today: ['Trong ngày', 'That day'],
  week: ['7 ngày qua', 'Last 7 days'],
  weekInline: ['7 ngày qua', 'last 7 days'],
  percent: [' %', '%'],
  overrides: ['Quyết định của Ban chỉ đạo đang áp dụng', 'Command-centre overrides in force'],
  none: ['Không có', 'None'],
  ruleSet: ['Bộ tiêu chí áp dụng', 'Rule set in force'],
  noRuleSet: ['Chưa có bộ tiêu chí', 'No rule set in force'],
  reporting: ['Báo cáo trong ngày', 'Reported that day'],
  downloads: ['Báo cáo tuần', 'Weekly briefing'],
  printPage: ['Trang in', 'Printable page'],
  name: ['Xã/phường', 'Commune'],
  districtCol: ['Huyện', 'District'],
  cases7: ['Ca cộng đồng 7 ngày', 'Community cases, 7 days'],
  incidence: ['Tỷ lệ/100.000 dân (7 ngày)', 'Per 100,000 (7 days)'],
  since: ['Từ ngày', 'Since'],
  trend: ['So với 7 ngày trước', 'vs 7 days before'],
  filter: ['Lọc theo tên…', 'Filter by name…'],
  rows: ['dòng', 'rows'],
  search: ['Tìm xã, phường, huyện…', 'Search an area…'],
  pick: ['Chọn một xã, phường trên bản đồ hoặc trong danh sách.', 'Pick a commune on the map or in the list.'],
  override: ['Quyết định của Ban chỉ đạo', 'Command-centre override'],
  by: ['người nhập', 'by'],
  inputs: ['Số liệu đầu vào', 'Inputs'],
  explanation: ['Giải thích', 'Explanation'],
  chart: ['90 ngày qua', 'Last 90 days'],
  community: ['Ca cộng đồng', 'Community cases'],
  quarantine: ['Ca trong khu cách ly', 'Quarantine cases'],
  incidenceLine: ['Tỷ lệ/100.000 (7 ngày)', 'Incidence per 100k (7 days)'],
  threshold: ['Ngưỡng', 'Threshold'],
  missing: ['thiếu', 'missing'],
  error: ['Không tải được dữ liệu', 'Could not load the data'],
  retry: ['Thử lại', 'Retry'],
  loading: ['Đang tải…', 'Loading…'],
  keyTitle: ['Cần khóa truy cập', 'An access key is needed'],
  keyText: ['Máy chủ này chỉ cho đọc khi có khóa API. Khóa được giữ cho phiên trình duyệt này.', 'This server only answers readers with an API key. The key is kept for this browser session.'],
  keyWrong: ['Khóa không đúng hoặc không có quyền đọc.', 'The key is wrong or may not read.'],
  keyButton: ['Dùng khóa', 'Use key'],
  close: ['Đóng', 'Close'],
  legend: ['Chú giải', 'Legend'],
  kind_commune: ['xã/phường', 'commune'],
  kind_district: ['huyện', 'district'],
  kind_province: ['tỉnh', 'province'],
  kind_subcommune: ['thôn/ấp', 'sub-commune'],
  lang: ['English', 'Tiếng Việt'],
  noDay: ['Chưa có ngày nào được phân loại', 'No day is classified yet'],
  notPublished: ['Ngày {date} chưa được công bố.', '{date} has not been published.'],
  lastPublished: ['Ngày công bố gần nhất', 'Last published day'],
  noPublication: ['Chưa có ngày nào được công bố.', 'No day has been published yet.'],
};

let lang = 'vi';
export const getLang = () => lang;
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'vi';
  document.documentElement.lang = lang;
}
export const t = (key) => (WORDS[key] ? WORDS[key][lang === 'vi' ? 0 : 1] : key);
/** Both languages, the other one small: for labels a reader of either should find. */
export const both = (v) => (v && typeof v === 'object' ? v[lang] ?? v.vi : v);

const formats = new Map();
function format(decimals, fixed) {
  const key = `${lang}:${decimals}:${fixed}`;
  if (!formats.has(key)) formats.set(key, new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: decimals, minimumFractionDigits: fixed ? decimals : 0 }));
  return formats.get(key);
}
/** A number in the reader's language: 2.944.027 and 65,1 in Vietnamese (`fixed`: always that many decimals). */
export const num = (v, decimals = 0, fixed = false) => (v === null || v === undefined || Number.isNaN(v) ? '—' : format(decimals, fixed).format(v));
/** A signed change: +3, −2, 0. */
export const signed = (v) => (v === null || v === undefined ? '—' : v > 0 ? `+${num(v)}` : v < 0 ? `−${num(-v)}` : '0');

/** 2021-10-31 → 31/10/2021. */
export const dmy = (iso) => (typeof iso === 'string' && /^\d{4}-\d{2}-\d{2}/.test(iso) ? `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}` : '—');
/** 31/10/2021 (or 31-10-2021, 1/9/2021) → 2021-10-31; null when it is no calendar day. */
export function parseDmy(text) {
  const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(text);
  if (!m) return null;
  const [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
  return dt.toISOString().slice(0, 10);
}
/** An instant as "08:05 31/10/2021" in the reporting time zone. */
export function timeText(iso, timeZone) {
  if (!iso) return '—';
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.hour}:${parts.minute} ${parts.day}/${parts.month}/${parts.year}`;
}
export const addDays = (iso, n) => new Date(Date.parse(`${iso}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
/** Lower case without diacritics, for matching names typed without accents. */
export const fold = (s) => String(s ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'd').toLowerCase();
