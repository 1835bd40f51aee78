import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AreaKind, gadmParentCode } from '../../src/domain/areas';
import {
  boundedEditDistance,
  charMask,
  MAX_NAME_CHARS,
  MAX_UNKNOWN_CANDIDATES,
  NameAlias,
  NameArea,
  NameIndex,
  nameKey,
  namePrefix,
  Resolution,
  splitAll,
  splitCombined,
} from '../../src/domain/names';

/** Name keys, prefix classes, splitting and resolving typed names to area codes. */

describe('nameKey and namePrefix', () => {
  test.each([
    // diacritics, case, spacing
    ['Phường Long Bình', 'long binh', 'ward'],
    ['  PHƯỜNG   LONG  BÌNH ', 'long binh', 'ward'],
    ['P. Long Bình', 'long binh', 'ward'],
    ['P.Long Bình', 'long binh', 'ward'],
    ['p long binh', 'long binh', 'ward'],
    ['phuong long binh', 'long binh', 'ward'],
    ['Phuong Long Binh', 'long binh', 'ward'],
    // numbered wards and districts
    ['Phường 01', '1', 'ward'],
    ['Phường 1', '1', 'ward'],
    ['P.01', '1', 'ward'],
    ['P.1', '1', 'ward'],
    ['P1', '1', 'ward'],
    ['P01', '1', 'ward'],
    ['phuong 1', '1', 'ward'],
    ['Phường 10', '10', 'ward'],
    ['Phường 1A', '1a', 'ward'],
    ['Quận 3', '3', 'district'],
    ['Q.3', '3', 'district'],
    ['Q. 03', '3', 'district'],
    ['quan 3', '3', 'district'],
    ['Q3', '3', 'district'],
    ['Xã Gia Tân 1', 'gia tan 1', 'commune'],
    ['Xã Đồi 61', 'doi 61', 'commune'],
    ['X. Đồi 61', 'doi 61', 'commune'],
    // cities: both tone-mark placements (Hòa / Hoà)
    ['Thành phố Biên Hòa', 'bien hoa', 'city'],
    ['TP. Biên Hoà', 'bien hoa', 'city'],
    ['T.P Biên Hòa', 'bien hoa', 'city'],
    ['tp bien hoa', 'bien hoa', 'city'],
    ['thanh pho bien hoa', 'bien hoa', 'city'],
    ['Xã Phú Thủy', 'phu thuy', 'commune'],
    ['Xã Phú Thuỷ', 'phu thuy', 'commune'],
    // towns, townlets, districts, provinces
    ['Thị trấn Trảng Bom', 'trang bom', 'town'],
    ['TT Trảng Bom', 'trang bom', 'town'],
    ['TT. Trảng Bom', 'trang bom', 'town'],
    ['T.T Trảng Bom', 'trang bom', 'town'],
    ['thi tran trang bom', 'trang bom', 'town'],
    ['Thị xã Long Khánh', 'long khanh', 'townlet'],
    ['TX. Long Khánh', 'long khanh', 'townlet'],
    ['Huyện Định Quán', 'dinh quan', 'district'],
    ['H. Định Quán', 'dinh quan', 'district'],
    ['huyen dinh quan', 'dinh quan', 'district'],
    ['Tỉnh Đồng Nai', 'dong nai', 'province'],
    ['T. Đồng Nai', 'dong nai', 'province'],
    // đ, and the look-alike Ð (U+00D0) of legacy encodings
    ['Đồng Nai', 'dong nai', null],
    ['ĐÀ NẴNG', 'da nang', null],
    ['\u00D0ồng Nai', 'dong nai', null],
    ['đ', 'd', null],
    // a prefix alone is the name; a bare word in accented text is part of the name
    ['Xã', 'xa', null],
    ['Phường', 'phuong', null],
    ['Thị xã', 'thi xa', null],
    ['Quan Sơn', 'quan son', null],
    ['Huyện Quan Sơn', 'quan son', 'district'],
    ['Xà Bang', 'xa bang', null],
    ['Xã Xà Bang', 'xa bang', 'commune'],
    ['Tịnh Biên', 'tinh bien', null],
    // apostrophes and hyphens
    ["Xã Ea H'Leo", 'ea hleo', 'commune'],
    ['Xã Ea H’Leo', 'ea hleo', 'commune'],
    ['Ia-Grai', 'ia grai', null],
    ['', '', null],
    [' .,- ', '', null],
  ])('%j → key %j, prefix %j', (text, key, prefix) => {
    expect(nameKey(text)).toBe(key);
    expect(namePrefix(text)).toBe(prefix);
  });

  test('composed (NFC) and decomposed (NFD) input give the same key', () => {
    for (const s of ['Phường Hòa Bình', 'Thành phố Biên Hoà', 'Xã Đồi 61', 'Thị trấn Trảng Bom']) {
      expect(nameKey(s.normalize('NFD'))).toBe(nameKey(s.normalize('NFC')));
      expect(namePrefix(s.normalize('NFD'))).toBe(namePrefix(s.normalize('NFC')));
    }
    expect('Hòa'.normalize('NFD')).not.toBe('Hoà'.normalize('NFD')); // the marks really sit apart
  });
});

describe('splitCombined', () => {
  test.each([
    ['P. Long Bình, TP. Biên Hòa', 'P. Long Bình', 'TP. Biên Hòa'],
    ['P. Long Bình,TP. Biên Hòa', 'P. Long Bình', 'TP. Biên Hòa'],
    ['P. Long Bình, TP. Biên Hòa, Đồng Nai', 'P. Long Bình', 'TP. Biên Hòa, Đồng Nai'],
    ['P. Long Bình / TP. Biên Hòa, Đồng Nai', 'P. Long Bình', 'TP. Biên Hòa, Đồng Nai'],
    ['Xã Phú Lý/Vĩnh Cửu', 'Xã Phú Lý', 'Vĩnh Cửu'],
    ['Xã Phú Lý / H. Vĩnh Cửu', 'Xã Phú Lý', 'H. Vĩnh Cửu'],
    ['p long binh/tp bien hoa', 'p long binh', 'tp bien hoa'],
    ['Phường 1 - Quận 3', 'Phường 1', 'Quận 3'],
    ['Phường 1 – Quận 3', 'Phường 1', 'Quận 3'],
    ['Phường 1 — q.3', 'Phường 1', 'q.3'],
    ['Phường 1 (Quận 3)', 'Phường 1', 'Quận 3'],
    // not splits
    ['Ca trong khu cách ly/phong tỏa', 'Ca trong khu cách ly/phong tỏa', null],
    ['Phường 1 - cũ', 'Phường 1 - cũ', null],
    ['Phường 1 (cũ)', 'Phường 1 (cũ)', null],
    ['Xã Ia-Grai', 'Xã Ia-Grai', null],
    ['Đường 3/2', 'Đường 3/2', null],
    ['Phường Long Bình,', 'Phường Long Bình,', null],
    [', Biên Hòa', ', Biên Hòa', null],
    ['(Quận 3)', '(Quận 3)', null],
    ['  Phường Long Bình  ', 'Phường Long Bình', null],
  ])('%j → %j + %j', (text, name, parent) => {
    expect(splitCombined(text)).toEqual({ name, parent });
  });

  test('splitAll gives the area then its parents, at most four parts', () => {
    expect(splitAll('P. Long Bình, TP. Biên Hòa, Đồng Nai')).toEqual(['P. Long Bình', 'TP. Biên Hòa', 'Đồng Nai']);
    expect(splitAll('a, b, c, d, e')).toEqual(['a', 'b', 'c', 'd, e']);
    expect(splitAll('Phường 1')).toEqual(['Phường 1']);
  });
});

describe('boundedEditDistance', () => {
  test.each([
    ['kitten', 'sitting', 3, 3],
    ['kitten', 'sitting', 2, 3],
    ['', 'abc', 5, 3],
    ['abc', 'abc', 0, 0],
    ['ab', 'ba', 2, 2],
    ['long binh', 'long binhh', 2, 1],
    ['long binh', 'long', 2, 3],
  ])('%j ~ %j (max %d) = %d', (a, b, max, d) => {
    expect(boundedEditDistance(a, b, max)).toBe(d);
    expect(boundedEditDistance(b, a, max)).toBe(d);
  });

  test('agrees with a plain Levenshtein on generated pairs, whatever the bound', () => {
    const full = (a: string, b: string): number => {
      const dp = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
      for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
          dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      return dp[a.length]![b.length]!;
    };
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const word = () => Array.from({ length: rnd(9) }, () => 'abn h'[rnd(5)]).join('');
    for (let i = 0; i < 3000; i++) {
      const [a, b, max] = [word(), word(), rnd(4)];
      expect([a, b, max, boundedEditDistance(a, b, max)]).toEqual([a, b, max, Math.min(full(a, b), max + 1)]);
      // the mask test never rules out a pair within the distance
      const differ = (x: number, y: number) => (x & ~y).toString(2).replace(/0/g, '').length;
      if (full(a, b) <= max) expect(Math.max(differ(charMask(a), charMask(b)), differ(charMask(b), charMask(a)))).toBeLessThanOrEqual(max);
    }
    expect(boundedEditDistance('x'.repeat(200), 'x'.repeat(199) + 'y', 2)).toBe(1); // longer than the scratch rows
  });
});

// ---------------------------------------------------------------------------------------------
// Đồng Nai: the real names of seeds/dong-nai-communes.geojson

type SeedFeature = { properties: { code: string; name: string; district: string; province: string } };
const seed = JSON.parse(readFileSync(join(__dirname, '../../seeds/dong-nai-communes.geojson'), 'utf8')) as {
  features: SeedFeature[];
};

function dongNaiAreas(): NameArea[] {
  const areas: NameArea[] = [{ code: 'VNM.17_1', name: 'Tỉnh Đồng Nai', kind: 'province', parent: null }];
  const districts = new Map<string, string>();
  for (const { properties: p } of seed.features) {
    const district = gadmParentCode(p.code) as string;
    if (!districts.has(district)) {
      districts.set(district, p.district);
      areas.push({ code: district, name: p.district, kind: 'district', parent: 'VNM.17_1' });
    }
    areas.push({ code: p.code, name: p.name, kind: 'commune', parent: district });
  }
  return areas;
}

/** "Phường Hòa Bình" → "p.hoa binh": unaccented, lower case, the prefix abbreviated. */
function abbreviated(name: string): string {
  const bare = name.normalize('NFD').replace(/\p{M}/gu, '').replace(/[đĐ]/g, 'd').toLowerCase();
  const abbreviations: [string, string][] = [
    ['thanh pho ', 'tp. '],
    ['thi tran ', 'tt '],
    ['thi xa ', 'tx.'],
    ['phuong ', 'p.'],
    ['xa ', 'x.'],
    ['huyen ', 'h. '],
    ['quan ', 'q.'],
  ];
  for (const [word, abbr] of abbreviations) if (bare.startsWith(word)) return abbr + bare.slice(word.length);
  throw new Error(`no prefix in ${name}`);
}

const resolved = (code: string, via: 'name' | 'alias' = 'name'): Resolution => ({ status: 'resolved', code, via });
const codes = (r: Resolution) => (r.status === 'resolved' ? [r.code] : r.candidates.map((c) => c.code));

describe('Đồng Nai (real names)', () => {
  const index = new NameIndex(dongNaiAreas(), []);
  const communes = seed.features.map((f) => f.properties);

  test('the seed is what these tests assume', () => {
    expect(communes).toHaveLength(171);
    expect(new Set(communes.map((c) => c.district)).size).toBe(11);
  });

  test('every commune resolves from its exact name and district', () => {
    for (const c of communes) expect([c.name, c.district, index.resolve(c.name, c.district)]).toEqual([c.name, c.district, resolved(c.code)]);
  });

  test('every commune resolves from its unaccented, lower-case, abbreviated name and district', () => {
    for (const c of communes) {
      const name = abbreviated(c.name);
      const district = abbreviated(c.district);
      expect([name, district, index.resolve(name, district)]).toEqual([name, district, resolved(c.code)]);
      expect(index.resolve(`${name}, ${district}`)).toEqual(resolved(c.code));
    }
  });

  test('combined cells and the other tone-mark placement', () => {
    expect(index.resolve('P. Long Bình, TP. Biên Hòa')).toEqual(resolved('VNM.17.1.10_1'));
    expect(index.resolve('P. Long Bình', 'TP. Biên Hoà')).toEqual(resolved('VNM.17.1.10_1'));
    expect(index.resolve('Phường Long Bình, Biên Hòa, Đồng Nai')).toEqual(resolved('VNM.17.1.10_1'));
    expect(index.resolve('Xã Phú Lý/Vĩnh Cửu')).toEqual(resolved('VNM.17.10.5_1'));
    expect(index.resolve('Thị trấn Trảng Bom')).toEqual(resolved('VNM.17.9.16_1'));
    expect(index.resolve('TT Trảng Bom', 'Huyện Trảng Bom')).toEqual(resolved('VNM.17.9.16_1'));
    // the province is an ancestor too
    expect(index.resolve('Phường Long Bình', 'Đồng Nai')).toEqual(resolved('VNM.17.1.10_1'));
  });

  test('a name in two districts is ambiguous without its district, resolved with it', () => {
    expect(index.resolve('Xã Thanh Sơn')).toEqual({
      status: 'ambiguous',
      candidates: [
        { code: 'VNM.17.3.13_1', name: 'Xã Thanh Sơn', parent: 'Huyện Định Quán', parent_code: 'VNM.17.3_1' },
        { code: 'VNM.17.7.17_1', name: 'Xã Thanh Sơn', parent: 'Huyện Tân Phú', parent_code: 'VNM.17.7_1' },
      ],
    });
    expect(index.resolve('Xã Thanh Sơn', 'H. Tân Phú')).toEqual(resolved('VNM.17.7.17_1'));
    // the province narrows nothing
    expect(index.resolve('Xã Thanh Sơn', 'Đồng Nai').status).toBe('ambiguous');
  });

  test('a parent that matches no ancestor is unknown, listing the same name elsewhere', () => {
    const r = index.resolve('Phường Long Bình', 'Huyện Xuân Lộc');
    expect(r).toEqual({
      status: 'unknown',
      candidates: [{ code: 'VNM.17.1.10_1', name: 'Phường Long Bình', parent: 'Thành phố Biên Hòa', parent_code: 'VNM.17.1_1' }],
    });
    expect(index.resolve('Phường Long Bình', 'Quận 99').status).toBe('unknown');
    expect(index.resolve('Phường Long Bình', 'Biên Hòa, Bình Dương').status).toBe('unknown');
  });

  test('a misspelt name gets near candidates and is never resolved', () => {
    for (const typo of ['Phường Long Bìnhh', 'Phường Lon Bình', 'P. LongBình', 'Phường Long  Bnh']) {
      const r = index.resolve(typo, 'Biên Hòa');
      expect(r.status).toBe('unknown');
      expect(codes(r)).toContain('VNM.17.1.10_1');
      expect(codes(r).length).toBeLessThanOrEqual(MAX_UNKNOWN_CANDIDATES);
    }
    // near names under the given parent come first
    const r = index.resolve('Xã Gia Tân 4', 'Huyện Thống Nhất');
    expect(r.status).toBe('unknown');
    expect(r.status !== 'resolved' && r.candidates.map((c) => c.name).slice(0, 3).sort()).toEqual(['Xã Gia Tân 1', 'Xã Gia Tân 2', 'Xã Gia Tân 3']);
    // nothing near: no candidates
    expect(index.resolve('Ca trong khu cách ly/phong tỏa')).toEqual({ status: 'unknown', candidates: [] });
    expect(index.resolve('Tổng cộng')).toEqual({ status: 'unknown', candidates: [] });
  });

  test('only areas of the requested kind', () => {
    // "Thống Nhất" is a district and a ward of Biên Hòa
    expect(index.resolve('Huyện Thống Nhất', null, 'district')).toEqual(resolved('VNM.17.8_1'));
    expect(index.resolve('Thống Nhất', 'Biên Hòa')).toEqual(resolved('VNM.17.1.27_1'));
    expect(index.resolve('Thống Nhất', null, 'district')).toEqual(resolved('VNM.17.8_1'));
    expect(index.resolve('Phường Long Bình', null, 'subcommune')).toEqual({ status: 'unknown', candidates: [] });
  });

  test('the edit-distance search is bounded per index', () => {
    const limited = new NameIndex(dongNaiAreas(), [], { nearSearchLimit: 1 });
    expect(codes(limited.resolve('Phường Long Bìnhh'))).toContain('VNM.17.1.10_1');
    expect(limited.resolve('Phường Trung Dũngg')).toEqual({ status: 'unknown', candidates: [] });
    // key lookups still work: the same key without spaces, the same name elsewhere
    expect(codes(limited.resolve('Phường LongBình'))).toEqual(['VNM.17.1.10_1']);
    expect(codes(limited.resolve('Phường Long Bình', 'Xuân Lộc'))).toEqual(['VNM.17.1.10_1']);
  });

  test('input that is not a string is unknown (spreadsheet cells can be numbers)', () => {
    expect(index.resolve(12 as unknown as string)).toEqual({ status: 'unknown', candidates: [] });
    expect(index.resolve('Phường Long Bình', 12 as unknown as string)).toEqual({ status: 'unknown', candidates: [] });
  });

  test('oversized input is unknown without work', () => {
    const long = 'Phường Long Bình '.repeat(20);
    expect(long.length).toBeGreaterThan(MAX_NAME_CHARS);
    expect(index.resolve(long)).toEqual({ status: 'unknown', candidates: [] });
    expect(index.resolve('Phường Long Bình', 'x'.repeat(MAX_NAME_CHARS + 1))).toEqual({ status: 'unknown', candidates: [] });
  });
});

// ---------------------------------------------------------------------------------------------
// A generated city like Ho Chi Minh City before 2021: 24 districts, "Phường 1"…"Phường 18"
// repeated across eleven of them, and wards with names of their own.

const NUMBERED: Record<string, number[]> = {
  'Quận 3': range(1, 14),
  'Quận 4': range(1, 18),
  'Quận 5': range(1, 15),
  'Quận 6': range(1, 14),
  'Quận 8': range(1, 16),
  'Quận 10': range(1, 15),
  'Quận 11': range(1, 16),
  'Quận Bình Thạnh': [1, 2, 3, 5, 6, 7, 11, 12, 13, 14, 15, 17],
  'Quận Gò Vấp': [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
  'Quận Phú Nhuận': range(1, 18),
  'Quận Tân Bình': range(1, 15),
};
/** Districts that write their wards "Phường 01" rather than "Phường 1". */
const ZERO_PADDED = new Set(['Quận 10', 'Quận Gò Vấp']);
const NAMED: Record<string, string[]> = {
  'Quận 1': ['Phường Bến Nghé', 'Phường Bến Thành', 'Phường Cầu Kho', 'Phường Cầu Ông Lãnh', 'Phường Đa Kao', 'Phường Tân Định'],
  'Quận 2': ['Phường An Phú', 'Phường Thảo Điền', 'Phường Thủ Thiêm'],
  'Quận 7': ['Phường Tân Phú', 'Phường Tân Thuận Đông', 'Phường Phú Mỹ'],
  'Quận 9': ['Phường Hiệp Phú', 'Phường Phước Long A', 'Phường Phước Long B'],
  'Quận 12': ['Phường Thạnh Xuân', 'Phường Tân Chánh Hiệp'],
  'Quận Tân Phú': ['Phường Tân Sơn Nhì', 'Phường Sơn Kỳ'],
  'Quận Bình Tân': ['Phường An Lạc', 'Phường Bình Hưng Hòa'],
  'Quận Thủ Đức': ['Phường Linh Trung', 'Phường Linh Xuân'],
  'Huyện Bình Chánh': ['Thị trấn Tân Túc', 'Xã Vĩnh Lộc A'],
  'Huyện Cần Giờ': ['Thị trấn Cần Thạnh', 'Xã Thạnh An'],
  'Huyện Củ Chi': ['Thị trấn Củ Chi', 'Xã Tân Thạnh Đông'],
  'Huyện Hóc Môn': ['Thị trấn Hóc Môn', 'Xã Xuân Thới Sơn'],
  'Huyện Nhà Bè': ['Thị trấn Nhà Bè', 'Xã Hiệp Phước'],
};
const DISTRICTS = [
  ...range(1, 12).map((n) => `Quận ${n}`),
  ...['Bình Thạnh', 'Gò Vấp', 'Phú Nhuận', 'Tân Bình', 'Tân Phú', 'Bình Tân', 'Thủ Đức'].map((n) => `Quận ${n}`),
  ...['Bình Chánh', 'Cần Giờ', 'Củ Chi', 'Hóc Môn', 'Nhà Bè'].map((n) => `Huyện ${n}`),
];

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

type Ward = { code: string; name: string; number: number | null; district: string; districtCode: string };

function city(): { areas: NameArea[]; wards: Ward[]; districtCode: Map<string, string> } {
  const areas: NameArea[] = [{ code: 'HCM', name: 'Thành phố Hồ Chí Minh', kind: 'province', parent: null }];
  const wards: Ward[] = [];
  const districtCode = new Map<string, string>();
  DISTRICTS.forEach((district, i) => {
    const dc = `HCM.${i + 1}`;
    districtCode.set(district, dc);
    areas.push({ code: dc, name: district, kind: 'district', parent: 'HCM' });
    const names: [string, number | null][] = [
      ...(NUMBERED[district] ?? []).map((n): [string, number] => [`Phường ${ZERO_PADDED.has(district) ? String(n).padStart(2, '0') : n}`, n]),
      ...(NAMED[district] ?? []).map((n): [string, null] => [n, null]),
    ];
    names.forEach(([name, number], j) => {
      const code = `${dc}.${j + 1}`;
      areas.push({ code, name, kind: 'commune', parent: dc });
      wards.push({ code, name, number, district, districtCode: dc });
    });
  });
  return { areas, wards, districtCode };
}

function unaccented(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').replace(/[đĐ]/g, 'd').toLowerCase();
}

/** The ways a district is typed. */
function districtSpellings(district: string): string[] {
  const m = /^(Quận|Huyện) (.*)$/.exec(district) as RegExpExecArray;
  const [, word, rest] = m as unknown as [string, string, string];
  const abbr = word === 'Quận' ? 'Q' : 'H';
  const out = [district, `${abbr}.${rest}`, `${abbr}. ${rest}`, unaccented(district)];
  if (/^\d+$/.test(rest)) out.push(`Q. ${rest.padStart(2, '0')}`, `Q${rest}`);
  else out.push(rest);
  return out;
}

/** The ways a ward is typed. */
function wardSpellings(w: Ward): string[] {
  if (w.number !== null) return [`Phường ${w.number}`, `P.${String(w.number).padStart(2, '0')}`, `phuong ${w.number}`, `P${w.number}`];
  return [w.name, unaccented(w.name)];
}

describe('a generated city like Ho Chi Minh City before 2021', () => {
  const { areas, wards, districtCode } = city();
  const index = new NameIndex(areas, []);

  test('the generated city has what the tests need', () => {
    expect(DISTRICTS).toHaveLength(24);
    const repeated = new Set(wards.filter((w) => w.number !== null && wards.some((o) => o !== w && o.number === w.number)).map((w) => w.number));
    expect(repeated.size).toBe(18);
    expect(wards.length).toBeGreaterThan(200);
  });

  test('every ward resolves with its district, in any spelling of both', () => {
    let checked = 0;
    for (const w of wards) {
      for (const ward of wardSpellings(w)) {
        for (const district of districtSpellings(w.district)) {
          expect([ward, district, index.resolve(ward, district)]).toEqual([ward, district, resolved(w.code)]);
          expect([ward, district, index.resolve(`${ward}, ${district}`)]).toEqual([ward, district, resolved(w.code)]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  test('every repeated ward name without its district is ambiguous, listing all its districts', () => {
    for (const n of range(1, 18)) {
      const expected = DISTRICTS.filter((d) => (NUMBERED[d] ?? []).includes(n)); // DISTRICTS is in the expected order
      for (const spelling of [`Phường ${n}`, `P.${String(n).padStart(2, '0')}`, `phuong ${n}`]) {
        const r = index.resolve(spelling);
        expect(r.status).toBe('ambiguous');
        expect(r.status !== 'resolved' && r.candidates.map((c) => c.parent)).toEqual(expected);
        expect(r.status !== 'resolved' && r.candidates.map((c) => c.parent_code)).toEqual(expected.map((d) => districtCode.get(d)));
      }
      // the province narrows nothing
      expect(index.resolve(`Phường ${n}`, 'TP. Hồ Chí Minh').status).toBe('ambiguous');
    }
  });

  test('names of their own resolve without the district', () => {
    for (const w of wards.filter((x) => x.number === null)) expect(index.resolve(w.name)).toEqual(resolved(w.code));
  });

  test('a ward number that the district lacks is unknown, listing the same name elsewhere (that district first)', () => {
    const r = index.resolve('Phường 18', 'Quận 3');
    expect(r.status).toBe('unknown');
    expect(r.status !== 'resolved' && r.candidates.map((c) => c.parent)).toEqual(['Quận 4', 'Quận Phú Nhuận']);
  });

  test('prefix classes must agree when both sides have one', () => {
    // "Quận 1" (a district) is not asked for as a commune; "Xã 1" is not "Phường 1"
    expect(index.resolve('Quận 1', null, 'district')).toEqual(resolved(districtCode.get('Quận 1') as string));
    expect(index.resolve('Phường 1', null, 'district').status).toBe('unknown');
    const r = index.resolve('Xã 1', 'Quận 3');
    expect(r.status).toBe('unknown');
    expect(r.status !== 'resolved' && r.candidates[0]).toEqual({ code: 'HCM.3.1', name: 'Phường 1', parent: 'Quận 3', parent_code: 'HCM.3' });
    // the candidate under the given parent comes first even when its parent sorts last
    const tb = index.resolve('Xã 1', 'Quận Tân Bình');
    expect(tb.status !== 'resolved' && tb.candidates.map((c) => c.parent)).toEqual([
      'Quận Tân Bình',
      ...['Quận 3', 'Quận 4', 'Quận 5', 'Quận 6', 'Quận 8', 'Quận 10', 'Quận 11', 'Quận Bình Thạnh', 'Quận Gò Vấp'],
    ]);
    // a district with both a "Phường 1" and a "Xã 1": the prefix tells them apart, no prefix cannot
    const mixed = new NameIndex([
      { code: 'D', name: 'Huyện Mẫu', kind: 'district', parent: null },
      { code: 'W1', name: 'Phường 1', kind: 'commune', parent: 'D' },
      { code: 'C1', name: 'Xã 1', kind: 'commune', parent: 'D' },
      { code: 'T1', name: 'Thị trấn Mẫu', kind: 'commune', parent: 'D' },
    ]);
    expect(mixed.resolve('P.01', 'Mẫu')).toEqual(resolved('W1'));
    expect(mixed.resolve('xa 1', 'Mẫu')).toEqual(resolved('C1'));
    expect(mixed.resolve('1', 'Mẫu')).toEqual({
      status: 'ambiguous',
      candidates: [
        { code: 'C1', name: 'Xã 1', parent: 'Huyện Mẫu', parent_code: 'D' },
        { code: 'W1', name: 'Phường 1', parent: 'Huyện Mẫu', parent_code: 'D' },
      ],
    });
    // unknown parent: the candidate whose prefix agrees comes first (C1 sorts before W1 by code)
    expect(codes(mixed.resolve('Phường 1', 'Huyện Khác'))).toEqual(['W1', 'C1']);
    expect(codes(mixed.resolve('Xã 1', 'Huyện Khác'))).toEqual(['C1', 'W1']);
    expect(mixed.resolve('TT Mẫu')).toEqual(resolved('T1'));
    expect(mixed.resolve('Mẫu')).toEqual(resolved('T1'));
    expect(mixed.resolve('Phường Mẫu')).toEqual({
      status: 'unknown',
      candidates: [{ code: 'T1', name: 'Thị trấn Mẫu', parent: 'Huyện Mẫu', parent_code: 'D' }],
    });
  });

  describe('with aliases', () => {
    const benNghe = wards.find((w) => w.name === 'Phường Bến Nghé') as Ward;
    const q3p1 = wards.find((w) => w.district === 'Quận 3' && w.number === 1) as Ward;
    const q5p1 = wards.find((w) => w.district === 'Quận 5' && w.number === 1) as Ward;
    const aliases: NameAlias[] = [
      { code: benNghe.code, alias: 'Ben Nghe ward' },
      { code: q3p1.code, alias: 'Phường 1' }, // an alias equal to many areas' names
      { code: 'HCM', alias: 'TP.HCM' },
      { code: 'NO-SUCH-AREA', alias: 'Phường Ma' },
    ];
    const withAliases = new NameIndex(areas, aliases);

    test('without the alias the variant is unknown; with it, resolved via alias', () => {
      expect(index.resolve('Ben Nghe ward').status).toBe('unknown');
      expect(withAliases.resolve('Ben Nghe ward')).toEqual(resolved(benNghe.code, 'alias'));
      expect(withAliases.resolve('ben nghe ward', 'Q.1')).toEqual(resolved(benNghe.code, 'alias'));
      expect(withAliases.resolve('BEN NGHE WARD, Quận 1')).toEqual(resolved(benNghe.code, 'alias'));
      // the exact name still resolves by name
      expect(withAliases.resolve('P.Bến Nghé')).toEqual(resolved(benNghe.code));
    });

    test('an alias counts only when the parent agrees', () => {
      const r = withAliases.resolve('Ben Nghe ward', 'Quận 3');
      expect(r.status).toBe('unknown');
    });

    test('an alias equal to several names wins for its code only without a parent or with its own', () => {
      expect(withAliases.resolve('Phường 1')).toEqual(resolved(q3p1.code, 'alias'));
      expect(withAliases.resolve('Phường 1', 'Quận 3')).toEqual(resolved(q3p1.code));
      expect(withAliases.resolve('Phường 1', 'Quận 5')).toEqual(resolved(q5p1.code));
    });

    test("an ancestor's alias matches as a parent", () => {
      expect(withAliases.resolve('Phường Bến Nghé', 'TP.HCM')).toEqual(resolved(benNghe.code));
      expect(withAliases.resolve('Phường 1, Q.5, TP.HCM')).toEqual(resolved(q5p1.code));
      expect(index.resolve('Phường Bến Nghé', 'TP.HCM').status).toBe('unknown');
    });

    test('an alias of an area that does not exist is ignored', () => {
      expect(withAliases.resolve('Phường Ma')).toEqual({ status: 'unknown', candidates: [] });
    });

    test('an alias of an area of another kind does not resolve this kind', () => {
      const districtAlias = new NameIndex(areas, [{ code: districtCode.get('Quận 1') as string, alias: 'Trung tâm' }]);
      expect(districtAlias.resolve('Trung tâm')).toEqual({ status: 'unknown', candidates: [] });
      expect(districtAlias.resolve('Trung tâm', null, 'district')).toEqual(resolved(districtCode.get('Quận 1') as string, 'alias'));
    });

    test("an area's own name is never taken over by another area's alias: both are candidates", () => {
      // Bến Nghé's name confirmed (by mistake or malice) as an alias of Quận 3's Phường 1
      const hijack = new NameIndex(areas, [{ code: q3p1.code, alias: 'Phường Bến Nghé' }]);
      const r = hijack.resolve('Phường Bến Nghé');
      expect(r.status).toBe('ambiguous');
      expect(r.status !== 'resolved' && r.candidates.map((c) => c.code).sort()).toEqual([benNghe.code, q3p1.code].sort());
      // the parent still tells them apart
      expect(hijack.resolve('Phường Bến Nghé', 'Quận 1')).toEqual(resolved(benNghe.code));
    });

    test('two areas sharing an alias are ambiguous, unless the parent tells them apart', () => {
      const shared = new NameIndex(areas, [
        { code: q3p1.code, alias: 'Chợ' },
        { code: q5p1.code, alias: 'Chợ' },
      ]);
      expect(shared.resolve('Chợ').status).toBe('ambiguous');
      expect(shared.resolve('Chợ', 'Quận 5')).toEqual(resolved(q5p1.code, 'alias'));
    });
  });

  test('memoised: 1,000,000 rows over ~200 distinct names', () => {
    const fresh = new NameIndex(areas, []);
    const rows: [string, string][] = [];
    for (const w of wards.slice(0, 100)) {
      rows.push([wardSpellings(w)[0] as string, w.district]);
      rows.push([wardSpellings(w)[1] as string, districtSpellings(w.district)[1] as string]);
    }
    const distinct = new Set(rows.map((r) => r.join('|'))).size;
    expect(distinct).toBe(200);
    const start = process.hrtime.bigint();
    let ok = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const [name, district] = rows[i % rows.length] as [string, string];
      if (fresh.resolve(name, district).status === 'resolved') ok++;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    expect(ok).toBe(1_000_000);
    expect(fresh.cacheStats()).toEqual({ entries: 200, hits: 1_000_000 - 200, misses: 200 });
    // eslint-disable-next-line no-console
    console.log(`NameIndex.resolve: ${Math.round(1_000_000 / seconds).toLocaleString('en')} rows/s (1,000,000 rows, 200 distinct)`);
  });

  test('the memo is bounded and results are frozen', () => {
    const small = new NameIndex(areas, [], { memoLimit: 3 });
    for (const n of [1, 2, 3, 4, 5]) expect(small.resolve(`Phường ${n}`, 'Quận 3')).toEqual(resolved(`HCM.3.${n}`));
    expect(small.cacheStats().entries).toBeLessThanOrEqual(3);
    expect(small.resolve('Phường 1', 'Quận 3')).toEqual(resolved('HCM.3.1'));
    const r = small.resolve('Phường 1');
    expect(Object.isFrozen(r)).toBe(true);
    expect(r.status !== 'resolved' && Object.isFrozen(r.candidates) && Object.isFrozen(r.candidates[0])).toBe(true);
    // null, undefined and '' are the same parent; a blank parent is none
    expect(small.resolve('Phường Bến Nghé', undefined)).toEqual(small.resolve('Phường Bến Nghé', null));
    expect(small.resolve('Phường Bến Nghé', '  ')).toEqual(resolved(wards.find((w) => w.name === 'Phường Bến Nghé')?.code as string));
  });

  test('kinds other than commune: districts and subcommunes', () => {
    const sub = new NameIndex([
      ...areas,
      { code: 'HCM.3.1.a', name: 'Khu phố 1', kind: 'subcommune' as AreaKind, parent: 'HCM.3.1' },
      { code: 'HCM.3.2.a', name: 'Khu phố 1', kind: 'subcommune' as AreaKind, parent: 'HCM.3.2' },
    ]);
    expect(sub.resolve('Khu phố 1', 'Phường 2', 'subcommune')).toEqual(resolved('HCM.3.2.a'));
    expect(sub.resolve('Khu phố 1', 'Quận 3', 'subcommune').status).toBe('ambiguous');
    expect(sub.resolve('Khu phố 1', 'Phường 2')).toEqual({ status: 'unknown', candidates: [] });
    expect(sub.resolve('Q.Gò Vấp', 'TP HCM', 'district').status).toBe('unknown'); // "hcm" is only an alias
    expect(sub.resolve('Q.Gò Vấp', 'Hồ Chí Minh', 'district')).toEqual(resolved(districtCode.get('Quận Gò Vấp') as string));
  });
});

describe('names on a day: the areas that exist then (a new ward may bear an old ward\'s name)', () => {
  const areas: NameArea[] = [
    { code: 'P', name: 'Tỉnh Đồng Nai', kind: 'province', parent: null },
    { code: 'D', name: 'Thành phố Biên Hòa', kind: 'district', parent: 'P', valid_to: '2025-06-30' },
    { code: 'OLD', name: 'Phường Long Bình', kind: 'commune', parent: 'D', valid_to: '2025-06-30' },
    { code: 'NEW', name: 'Phường Long Bình', kind: 'commune', parent: 'P', valid_from: '2025-07-01' },
    { code: 'KEPT', name: 'Xã Phú Hữu', kind: 'commune', parent: 'P' },
  ];
  const index = new NameIndex(areas, [{ code: 'NEW', alias: 'P. Long Bình mới' }]);
  test.each([
    ['2026-12-01', 'NEW'],
    ['2025-07-01', 'NEW'],
    ['2025-06-30', 'OLD'],
    ['2021-09-01', 'OLD'],
  ])('on %s: %s', (date, code) => {
    expect(index.resolve('Phường Long Bình', 'Tỉnh Đồng Nai', 'commune', date)).toEqual(resolved(code));
  });
  test('without a day (or not a date) both are candidates; an area without days is found on any day; an alias only while its area exists', () => {
    expect(codes(index.resolve('Phường Long Bình', 'Tỉnh Đồng Nai'))).toEqual(expect.arrayContaining(['OLD', 'NEW']));
    expect(index.resolve('Phường Long Bình', null, 'commune', 'soon').status).toBe('ambiguous');
    expect(index.resolve('Xã Phú Hữu', null, 'commune', '2021-01-01')).toEqual(resolved('KEPT'));
    expect(index.resolve('P. Long Bình mới', null, 'commune', '2026-01-01')).toEqual(resolved('NEW', 'alias'));
    expect(index.resolve('P. Long Bình mới', null, 'commune', '2025-01-01').status).not.toBe('resolved');
  });
  test('days on which the same areas exist share one memo entry (a file of many days resolves each name once an epoch)', () => {
    const fresh = new NameIndex(areas);
    for (const date of ['2026-12-01', '2025-07-01', '2025-06-30', '2021-09-01']) fresh.resolve('Phường Long Bình', 'Tỉnh Đồng Nai', 'commune', date);
    expect(fresh.cacheStats()).toMatchObject({ misses: 2, hits: 2 });
  });
  test('a day before any area of the name: unknown, and the areas of other days are offered', () => {
    const early = new NameIndex([{ code: 'NEW', name: 'Phường Long Bình', kind: 'commune', parent: null, valid_from: '2025-07-01' }]);
    const r = early.resolve('Phường Long Bình', null, 'commune', '2021-01-01');
    expect(r.status).toBe('unknown');
    expect(codes(r)).toEqual(['NEW']);
  });
});
