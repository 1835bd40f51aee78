import { drawMap, MapArea, mapSvg, MAP_WIDTH } from '../../src/domain/briefingMap';
import { sentenceCase } from '../../src/domain/briefing';
import { escapeHtml } from '../../src/domain/html';
import { LEVEL_INFO, LevelOrUnknown } from '../../src/domain/levels';
import { firstLevelText } from '../../src/domain/rules/change';

/** The briefing's static map (pure): projection, one path per commune, bounded size; and the briefing's small words. */
const square = (x: number, y: number, d: number): number[][][] => [
  [
    [x, y],
    [x + d, y],
    [x + d, y + d],
    [x, y + d],
    [x, y],
  ],
];
const LEVELS: LevelOrUnknown[] = ['red', 'orange', 'yellow', 'green', 'unknown'];
/** The absolute points of a path "M x y l dx dy dx dy … z" (one or more rings). */
function absolute(d: string): [number, number][] {
  const out: [number, number][] = [];
  for (const ring of d.split('M').filter(Boolean)) {
    const [start, rest = ''] = ring.replace(/z$/, '').split('l');
    const [x0, y0] = (start as string).trim().split(' ').map(Number) as [number, number];
    let p: [number, number] = [x0, y0];
    out.push(p);
    const n = rest.trim().split(' ').map(Number);
    for (let i = 0; i + 1 < n.length; i += 2) {
      p = [p[0] + (n[i] as number), p[1] + (n[i + 1] as number)];
      out.push(p);
    }
  }
  return out;
}

describe('drawMap / mapSvg', () => {
  test('one path per commune, filled with its level’s colour; districts outlined; a legend counting each level', () => {
    const communes: MapArea[] = Array.from({ length: 12 }, (_x, i) => ({ code: `C${i}`, name: `Xã ${i}`, level: LEVELS[i % 5] as LevelOrUnknown, polygons: [square(106 + (i % 4) * 0.1, 10 + Math.floor(i / 4) * 0.1, 0.1)] }));
    const m = drawMap(communes, [{ code: 'D1', polygons: [square(106, 10, 0.4)] }]);
    expect(m.communes.map((c) => [c.code, c.color])).toEqual(communes.map((c) => [c.code, LEVEL_INFO[c.level].color]));
    const svg = mapSvg(m, 'Bản đồ');
    expect(svg.match(/<path class="commune"/g)).toHaveLength(12);
    expect(svg.match(/<path class="district"/g)).toHaveLength(1);
    expect(m.legend.map((l) => [l.level, l.areas])).toEqual([['red', 3], ['orange', 3], ['yellow', 2], ['green', 2], ['unknown', 2]]);
    // fitted: the area is 4 × 3 cells at 10° N, wider than high, across the whole width
    expect(m.width).toBe(MAP_WIDTH);
    const xs = m.communes.flatMap((c) => absolute(c.d).map((p) => p[0]));
    expect(Math.min(...xs)).toBeLessThanOrEqual(10);
    expect(Math.max(...xs)).toBeGreaterThanOrEqual(MAP_WIDTH - 10);
  });

  test('longitudes scaled by cos(latitude): a 1°×1° square at 60° N is half as wide as high', () => {
    const m = drawMap([{ code: 'A', name: 'A', level: 'green', polygons: [square(10, 59.5, 1)] }], [], 1000, 1000);
    const pts = absolute(m.communes[0]?.d ?? '');
    const w = Math.max(...pts.map((p) => p[0])) - Math.min(...pts.map((p) => p[0]));
    const h = Math.max(...pts.map((p) => p[1])) - Math.min(...pts.map((p) => p[1]));
    expect(w / h).toBeCloseTo(Math.cos((60 * Math.PI) / 180), 1);
  });

  test('a commune too small for the box is still one path (a one-unit square); one without geometry is a square at 0 0', () => {
    const m = drawMap(
      [
        { code: 'BIG', name: 'Lớn', level: 'green', polygons: [square(100, 10, 5)] },
        { code: 'TINY', name: 'Nhỏ', level: 'red', polygons: [square(102, 12, 0.00001)] },
        { code: 'NONE', name: 'Không', level: 'unknown', polygons: [] },
      ],
      [],
    );
    expect(m.communes.map((c) => c.code)).toEqual(['BIG', 'TINY', 'NONE']);
    expect(m.communes[1]?.d).toMatch(/^M\d+ \d+h1v1h-1z$/);
    expect(mapSvg(m, '').match(/<path class="commune"/g)).toHaveLength(3);
  });

  test('a country of 10,600 communes of ~12 points each stays under 2 MB of SVG', () => {
    const communes: MapArea[] = [];
    for (let i = 0; i < 10_600; i++) {
      const x = 102 + (i % 100) * 0.07;
      const y = 8.5 + Math.floor(i / 100) * 0.14;
      const ring = Array.from({ length: 12 }, (_z, k) => [x + 0.035 + 0.035 * Math.cos((k * Math.PI) / 6), y + 0.07 + 0.07 * Math.sin((k * Math.PI) / 6)]);
      ring.push(ring[0] as number[]);
      communes.push({ code: `VNM.${Math.floor(i / 15)}.${i}_1`, name: `Xã Thử Nghiệm ${i}`, level: LEVELS[i % 5] as LevelOrUnknown, polygons: [[ring]] });
    }
    const svg = mapSvg(drawMap(communes, []), 'Toàn quốc');
    expect(svg.match(/<path class="commune"/g)).toHaveLength(10_600);
    expect(Buffer.byteLength(svg)).toBeLessThan(2 * 1024 * 1024);
  });

  test('names are escaped in the SVG', () => {
    const svg = mapSvg(drawMap([{ code: 'X"1', name: `<b>&'"`, level: 'red', polygons: [square(1, 1, 1)] }], []), '<map>');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('&lt;b&gt;&amp;&#39;&quot;');
    expect(svg).toContain('data-code="X&quot;1"');
    expect(svg).toContain('aria-label="&lt;map&gt;"');
  });
});

describe('the briefing’s words', () => {
  test('escapeHtml', () => expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;'));
  test('sentenceCase capitalises the first letter only (Vietnamese letters too)', () => {
    expect(sentenceCase('giảm cấp theo tiêu chí')).toBe('Giảm cấp theo tiêu chí');
    expect(sentenceCase('đủ dữ liệu trở lại')).toBe('Đủ dữ liệu trở lại');
    expect(sentenceCase('override: x')).toBe('Override: x');
    expect(sentenceCase('Số ca')).toBe('Số ca');
    expect(sentenceCase('')).toBe('');
  });
  test('a first level is named as such', () => {
    expect(firstLevelText('yellow')).toEqual({ code: 'first_level', vi: 'Cấp độ đầu tiên: Cấp 2', en: 'first level: level 2 (yellow)' });
  });
});
