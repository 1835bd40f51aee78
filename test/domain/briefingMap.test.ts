import { drawMap, extentOf, MapArea, mapSvg, MAP_WIDTH } from '../../src/domain/briefingMap';
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

describe('drawMap, by hand (a fixture whose every number is worked out below)', () => {
  // at the equator cos(lat) = 1; the box 100 × 100 with an 8-unit margin: 84 units for the
  // extent x 0…2, y −1…1 → 42 units a degree, x → 8 + 42x, y → 8 + 42(1 − y)
  const rect = (x1: number, y1: number, x2: number, y2: number): number[][][] => [
    [
      [x1, y1],
      [x2, y1],
      [x2, y2],
      [x1, y2],
      [x1, y1],
    ],
  ];
  const a: MapArea = { code: 'A', name: 'Xã A', level: 'red', polygons: [rect(0, -1, 1, 1)] };
  // a repeated point, and the ring's closing point: both dropped
  const b: MapArea = { code: 'B', name: 'Xã B', level: 'green', polygons: [[[[1, -1], [1, -1], [2, -1], [2, 1], [1, 1], [1, -1]]]] };
  // far below a unit: one unit square at its first point
  const c: MapArea = { code: 'C', name: 'Xã C', level: 'yellow', polygons: [rect(0.5, 0, 0.5001, 0.0001)] };
  // two polygons, the second with a hole: every ring one sub-path
  const d: MapArea = { code: 'D', name: 'Xã D', level: 'red', polygons: [rect(0, 0.5, 0.5, 1), [...rect(1.5, -1, 2, -0.5), ...rect(1.6, -0.9, 1.9, -0.6)]] };

  test('projection, rounding, dropped points, the one-unit square, sub-paths, outlines and the legend', () => {
    const m = drawMap([a, b, c, d], [{ code: 'H', polygons: [rect(0, -1, 2, 1)] }, { code: 'tiny', polygons: [rect(1, 0, 1.001, 0.001)] }], 100, 100);
    expect(m).toEqual({
      width: 100,
      height: 144,
      mapHeight: 100,
      communes: [
        { code: 'A', name: 'Xã A', level: 'red', color: LEVEL_INFO.red.color, d: 'M8 92l42 0 0 -84 -42 0z' },
        { code: 'B', name: 'Xã B', level: 'green', color: LEVEL_INFO.green.color, d: 'M50 92l42 0 0 -84 -42 0z' },
        { code: 'C', name: 'Xã C', level: 'yellow', color: LEVEL_INFO.yellow.color, d: 'M29 50h1v1h-1z' },
        { code: 'D', name: 'Xã D', level: 'red', color: LEVEL_INFO.red.color, d: 'M8 29l21 0 0 -21 -21 0zM71 92l21 0 0 -21 -21 0zM75 88l13 0 0 -13 -13 0z' },
      ],
      // an outline too small to draw is left out
      districts: [{ code: 'H', d: 'M8 92l84 0 0 -84 -84 0z' }],
      legend: [
        { level: 'red', color: LEVEL_INFO.red.color, label: 'Cấp 4 (đỏ)', label_en: 'level 4 (red)', areas: 2 },
        { level: 'yellow', color: LEVEL_INFO.yellow.color, label: 'Cấp 2 (vàng)', label_en: 'level 2 (yellow)', areas: 1 },
        { level: 'green', color: LEVEL_INFO.green.color, label: 'Cấp 1 (xanh)', label_en: 'level 1 (green)', areas: 1 },
      ],
    });
  });

  test('the extent is every point’s, whichever ring holds the extremes', () => {
    // the extremes in the middle of rings, never the first or last point
    const shape: MapArea = { code: 'S', name: 'S', level: 'green', polygons: [[[[0.5, 0], [2, 0.2], [1, 1], [0, 0.3], [0.4, -1], [0.5, 0]]]] };
    expect(extentOf([shape])).toEqual([0, -1, 2, 1]);
    expect(extentOf([])).toBeNull();
    expect(extentOf([{ polygons: [[[]]] }])).toBeNull();
    // a single point is an extent of its own
    expect(extentOf([{ polygons: [[[[3, 4]]]] }])).toEqual([3, 4, 3, 4]);
  });

  test('nothing to draw: only the legend’s band', () => {
    expect(drawMap([], [], 100, 100)).toEqual({ width: 100, height: 44, mapHeight: 0, communes: [], districts: [], legend: [] });
  });

  test('a tall area: the height is the limit and the width follows, centred', () => {
    // x 0…1, y −1…1 in a 100 × 100 box: 42 units a degree, 42 wide, centred at offset 29
    const m = drawMap([a], [], 100, 100);
    expect(m.communes[0]?.d).toBe('M29 92l42 0 0 -84 -42 0z');
    expect(m.mapHeight).toBe(100);
  });
});

describe('mapSvg and the rest of drawMap, by hand', () => {
  const box = (x1: number, y1: number, x2: number, y2: number, closed = true): number[][][] => [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], ...(closed ? [[x1, y1]] : [])]];

  test('a ring left open keeps its last point; a ring of two points is none', () => {
    const open: MapArea = { code: 'O', name: 'O', level: 'green', polygons: [box(0, -1, 2, 1, false)] };
    expect(drawMap([open], [], 100, 100).communes[0]?.d).toBe('M8 92l84 0 0 -84 -84 0z');
    const line: MapArea = { code: 'L', name: 'L', level: 'green', polygons: [[[[0, -1], [2, 1], [0, -1]]]] };
    expect(drawMap([line], [], 100, 100).communes[0]?.d).toBe('M8 92h1v1h-1z');
    // three distinct points are a triangle
    const tri: MapArea = { code: 'T', name: 'T', level: 'green', polygons: [[[[0, -1], [2, -1], [0, 1], [0, -1]]]] };
    expect(drawMap([tri], [], 100, 100).communes[0]?.d).toBe('M8 92l84 0 -84 -84z');
  });

  test('at 60° N a degree of longitude is half a degree of latitude wide', () => {
    // y 59.5…60.5, x 0…2: cos 60° = 0.5 → spans 1 × 1 → 84 units a degree of latitude
    const m = drawMap([{ code: 'N', name: 'N', level: 'red', polygons: [box(0, 59.5, 2, 60.5)] }], [], 100, 100);
    expect(m.communes[0]?.d).toBe('M8 92l84 0 0 -84 -84 0z');
  });

  test('the SVG of a small drawing, whole', () => {
    const m = drawMap(
      [
        { code: 'A', name: 'Xã <A>', level: 'red', polygons: [box(0, -1, 1, 1)] },
        { code: 'B', name: 'Xã B', level: 'green', polygons: [box(1, -1, 2, 1)] },
      ],
      [{ code: 'H', polygons: [box(0, -1, 2, 1)] }],
      100,
      100,
    );
    expect(mapSvg(m, 'Bản đồ "x"').split('\n')).toEqual([
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 144" width="100%" role="img" aria-label="Bản đồ &quot;x&quot;" class="briefing-map">',
      '<title>Bản đồ &quot;x&quot;</title>',
      '<g stroke="#ffffff" stroke-width="0.6" stroke-linejoin="round">',
      `<path class="commune" data-code="A" fill="${LEVEL_INFO.red.color}" d="M8 92l42 0 0 -84 -42 0z"><title>Xã &lt;A&gt; — Cấp 4 (đỏ)</title></path>`,
      `<path class="commune" data-code="B" fill="${LEVEL_INFO.green.color}" d="M50 92l42 0 0 -84 -42 0z"><title>Xã B — Cấp 1 (xanh)</title></path>`,
      '</g>',
      '<g fill="none" stroke="#333333" stroke-width="1.6" stroke-linejoin="round">',
      '<path class="district" data-code="H" d="M8 92l84 0 0 -84 -84 0z"/>',
      '</g>',
      '<g class="legend" font-family="DejaVu Sans, Arial, sans-serif" font-size="15">',
      // two entries: a step of 50 units from the margin
      `<rect x="8" y="112" width="22" height="16" fill="${LEVEL_INFO.red.color}" stroke="#555" stroke-width="0.5"/>`,
      '<text x="36" y="125">Cấp 4 (đỏ): 1</text>',
      '<text x="36" y="141" font-size="11" fill="#555">level 4 (red)</text>',
      `<rect x="58" y="112" width="22" height="16" fill="${LEVEL_INFO.green.color}" stroke="#555" stroke-width="0.5"/>`,
      '<text x="86" y="125">Cấp 1 (xanh): 1</text>',
      '<text x="86" y="141" font-size="11" fill="#555">level 1 (green)</text>',
      '</g></svg>',
    ]);
  });

  test('without districts, no outline group', () => {
    const m = drawMap([{ code: 'A', name: 'A', level: 'red', polygons: [box(0, -1, 1, 1)] }], [], 100, 100);
    expect(mapSvg(m, 'x')).not.toContain('class="district"');
    expect(mapSvg(m, 'x')).not.toContain('stroke="#333333"');
  });
});
