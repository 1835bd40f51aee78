import { fallbackLabel, indicatorLabel, KNOWN_METRICS, METRIC_CATALOGUE, metricLabel, reportMetricLabel } from '../../src/domain/metrics';
import { parseRuleSet, RuleSet } from '../../src/domain/rules/definition';
import { PRESETS } from '../../src/domain/rules/presets';
import { metricLabelOf, missingText, originText, reasonText, valueMeaning } from '../../src/domain/rules/wording';

/**
 * The metric catalogue (issue 14): every known indicator and every metric the presets define
 * has a label in Vietnamese and English, a short name and a unit; a rule set's metric is named
 * by what its definition counts; a custom name falls back to itself.
 */

const presetMetrics = Object.entries(PRESETS).flatMap(([id, rs]) => Object.keys(rs.metrics).map((m) => [id, m] as const));

describe('the catalogue', () => {
  test.each(Object.keys(KNOWN_METRICS))('known indicator %s has a label of its own in both languages', (name) => {
    const l = metricLabel(name);
    expect(l).not.toEqual(fallbackLabel(name));
    for (const t of [l.label, l.short]) {
      expect(t.vi).not.toBe(name);
      expect(t.en).not.toBe(name);
      expect(t.vi.length).toBeGreaterThan(3);
      expect(t.en.length).toBeGreaterThan(3);
    }
  });

  test.each(presetMetrics)('%s: metric %s is in the catalogue, and its definition names it the same', (id, m) => {
    expect(Object.hasOwn(METRIC_CATALOGUE, m)).toBe(true);
    expect(metricLabelOf(PRESETS[id] as RuleSet, m)).toEqual(METRIC_CATALOGUE[m]);
  });

  test('the labels the issue names, word for word', () => {
    expect(metricLabel('community_incidence_7d').label).toEqual({ vi: 'Số ca mắc mới tại cộng đồng / 100.000 dân, 7 ngày', en: 'new community cases per 100,000, 7 days' });
    expect(metricLabel('community_incidence_7d').unit).toEqual({ vi: '', en: '/100k' });
    expect(metricLabel('vaccination_18plus_1dose_pct').unit).toEqual({ vi: '%', en: '%' });
  });

  test("218's capacity and the 0/1 flag read by their meaning", () => {
    const cap = metricLabel('response_capacity');
    expect([0, 1, 2].map((v) => valueMeaning(cap, v))).toEqual([
      { vi: 'thấp', en: 'low' },
      { vi: 'trung bình', en: 'medium' },
      { vi: 'cao', en: 'high' },
    ]);
    expect(valueMeaning(cap, 3)).toBeNull();
    expect(valueMeaning(cap, 1.5)).toBeNull();
    expect(valueMeaning(metricLabel('treatment_capacity_ok'), 0)).toEqual({ vi: 'không đạt', en: 'not met' });
    expect(valueMeaning(metricLabel('treatment_capacity_ok'), 1)).toEqual({ vi: 'đạt', en: 'met' });
    expect(valueMeaning(metricLabel('vaccination_18plus_full_pct'), 1)).toBeNull();
  });

  test('an unknown (custom) name, or one like __proto__, is named by itself', () => {
    for (const name of ['my_metric', '__proto__', 'constructor', 'valueOf']) {
      expect(metricLabel(name)).toEqual({ label: { vi: name, en: name }, short: { vi: name, en: name }, unit: { vi: '', en: '' } });
      expect(indicatorLabel(name)).toEqual(fallbackLabel(name));
    }
  });
});

describe('a custom rule set is named by what its definitions count', () => {
  const r = parseRuleSet({
    name: 'custom',
    metrics: {
      incidence: { kind: 'rate_per_100k', of: 'community_cases', window_days: 14 },
      // a preset name reused with another window: the definition wins
      community_incidence_7d: { kind: 'rate_per_100k', of: 'all_cases', window_days: 3 },
      q: { kind: 'sum', of: 'quarantine_cases', window_days: 7 },
      quiet: { kind: 'days_since_last', of: 'community_cases' },
      pop: { kind: 'population' },
      dose1: { kind: 'indicator', name: 'vaccination_18plus_1dose_pct' },
      own: { kind: 'indicator', name: 'beds.free' },
      unk: { kind: 'indicator_sum', name: 'community_cases_unknown_source', window_days: 7 },
      cm: { kind: 'count_met', of: [{ metric: 'dose1', op: '>=', value: 70 }] },
    },
    levels: [{ kinds: ['commune'], steps: [{ type: 'bands', metric: 'incidence', thresholds: [1], levels: ['green', 'red'] }] }],
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const rs = r.value;

  test.each([
    ['incidence', 'Số ca mắc mới tại cộng đồng / 100.000 dân, 14 ngày', 'new community cases per 100,000, 14 days'],
    ['community_incidence_7d', 'Số ca mắc mới (tại cộng đồng và trong khu cách ly) / 100.000 dân, 3 ngày', 'new cases (community and quarantine) per 100,000, 3 days'],
    ['q', 'Số ca mắc mới trong khu cách ly, phong tỏa, 7 ngày', 'new cases in quarantine or lockdown, 7 days'],
    ['quiet', 'Số ngày kể từ ca mắc mới tại cộng đồng gần nhất', 'days since the last new community case'],
    ['pop', 'Dân số', 'population'],
    ['dose1', 'Tỷ lệ người từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi vắc xin (%)', 'share of people aged 18+ with at least one vaccine dose (%)'],
    ['own', 'beds.free', 'beds.free'],
    ['unk', 'Số ca cộng đồng không rõ nguồn lây, 7 ngày', 'community cases of unknown source, 7 days'],
    ['cm', 'cm', 'cm'],
    ['not_defined', 'not_defined', 'not_defined'],
  ])('%s', (m, vi, en) => {
    expect(metricLabelOf(rs, m).label).toEqual({ vi, en });
  });

  test('report labels of an unknown field fall back to the field name', () => {
    expect(reportMetricLabel('sum', 'odd_field', 7).label).toEqual({ vi: 'Số odd_field, 7 ngày', en: 'odd_field, 7 days' });
  });
});

describe('missing values: never reported is not too old', () => {
  const rs = PRESETS['vn-moh-4800-2021'] as RuleSet;
  test.each([
    ['missing_metric:vaccination_18plus_1dose_pct', 'chưa từng có số liệu', 'never reported'],
    ['stale_metric:vaccination_18plus_1dose_pct', 'số liệu quá cũ (cũ hơn 14 ngày)', 'too old (older than 14 days)'],
    ['no_metric:vaccination_18plus_1dose_pct', 'không có số liệu', 'not provided'],
    ['something_else', 'thiếu số liệu (something_else)', 'missing (something_else)'],
  ])('%s', (reason, vi, en) => {
    expect(missingText({ ruleSet: rs }, 'vaccination_18plus_1dose_pct', reason, 'vi')).toBe(vi);
    expect(missingText({ ruleSet: rs }, 'vaccination_18plus_1dose_pct', reason, 'en')).toBe(en);
  });

  test('rates: no population, no reports in the window', () => {
    expect(missingText({ ruleSet: rs }, 'community_incidence_7d', 'no_population', 'vi')).toBe('chưa có số dân');
    expect(missingText({ ruleSet: rs }, 'community_incidence_7d', 'no_reports', 'vi')).toBe('không có báo cáo nào trong 7 ngày');
    expect(missingText({ ruleSet: rs }, 'community_incidence_7d', 'no_reports', 'en')).toBe('no report in the last 7 days');
  });

  test("a derived metric missing one of its inputs names that input", () => {
    const r218 = PRESETS['vn-moh-218-2022'] as RuleSet;
    expect(missingText({ ruleSet: r218 }, 'response_capacity', 'stale_metric:treatment_capacity_ok', 'vi')).toBe('Khả năng thu dung, điều trị (giường bệnh, oxy, trạm y tế lưu động): số liệu quá cũ');
    expect(missingText({ ruleSet: r218 }, 'response_capacity', 'missing_metric:treatment_capacity_ok', 'en')).toBe('treatment capacity (beds, oxygen, mobile health stations): never reported');
  });

  test.each([
    ['missing_metric:vaccination_18plus_1dose_pct', 'Tỷ lệ người từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi vắc xin (%): chưa từng có số liệu', 'share of people aged 18+ with at least one vaccine dose (%): never reported'],
    ['stale_metric:vaccination_18plus_1dose_pct', 'Tỷ lệ người từ 18 tuổi trở lên đã tiêm ít nhất 1 mũi vắc xin (%): số liệu quá cũ (cũ hơn 14 ngày)', 'share of people aged 18+ with at least one vaccine dose (%): too old (older than 14 days)'],
    ['no_population', 'chưa có số dân', 'no population figure'],
    ['no_children_levels', 'không đơn vị con nào có cấp độ', 'no child has a level'],
    ['insufficient_testing', 'xét nghiệm chưa đủ', 'too little testing'],
    ['no_rules_for_kind:commune', 'bộ tiêu chí không có quy tắc cho loại đơn vị commune', 'the rule set has no rules for kind commune'],
    ['whatever', 'whatever', 'whatever'],
  ])('reasonText(%s)', (reason, vi, en) => {
    expect(reasonText(rs, reason)).toEqual({ vi, en });
  });
});

describe('origins', () => {
  test.each([
    [{ from: 'area', date: '2021-10-12' }, 'commune', 'số liệu ngày 12/10/2021', 'reported 2021-10-12'],
    [{ from: 'ancestor', code: 'VNM.25.1_1', date: '2021-10-03' }, 'commune', 'lấy từ đơn vị cấp trên VNM.25.1_1, số liệu ngày 03/10/2021', 'taken from ancestor VNM.25.1_1, reported 2021-10-03'],
    [
      { from: 'children', children: 11, of: 11, population_share: 1, method: 'population_weighted_mean' },
      'district',
      'tính từ 11/11 xã, phường, bao phủ 100% dân số, trung bình có trọng số theo dân số',
      'derived from 11 of 11 communes covering 100% of the population, population-weighted mean',
    ],
    [
      { from: 'children', children: 5, of: 11, population_share: 0.49996, method: 'min' },
      'province',
      'tính từ 5/11 quận, huyện, bao phủ 49,996% dân số, giá trị nhỏ nhất (đạt khi mọi đơn vị đều đạt)',
      'derived from 5 of 11 districts covering 49.996% of the population, minimum (met only where every child met)',
    ],
    [
      { from: 'children', children: 10, of: 11, population_share: 0.999999, method: 'max' },
      'commune',
      'tính từ 10/11 thôn, ấp, khu phố, bao phủ 99,9999% dân số, giá trị lớn nhất',
      'derived from 10 of 11 subcommunes covering 99.9999% of the population, maximum',
    ],
  ] as const)('%j', (o, kind, vi, en) => {
    expect(originText(o, kind, 'vi')).toBe(vi);
    expect(originText(o, kind, 'en')).toBe(en);
  });
});
