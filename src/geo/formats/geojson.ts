import { AppError } from '../../errors';
import { crsFromText } from './crs';
import { WorkBudget } from './limits';
import { countPositions } from './project';
import { attributesOf, errorText, nfcProperties, RawFeature, RawRead, unreadable } from './raw';

/**
 * A GeoJSON FeatureCollection (text). Its CRS: a legacy `crs` member
 * ({"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32648"}}), else EPSG:4326.
 */
export function readGeoJson(bytes: Uint8Array, budget: WorkBudget, haveCrsOption = false): RawRead {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, ''));
  } catch (e) {
    throw unreadable('GeoJSON', `not JSON text (${errorText(e)})`);
  }
  return geoJsonObject(body, budget, haveCrsOption);
}

export function geoJsonObject(body: unknown, budget: WorkBudget, haveCrsOption = false): RawRead {
  const fc = body as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } } | null;
  if (fc === null || typeof fc !== 'object' || fc.type !== 'FeatureCollection' || !Array.isArray(fc.features)) {
    throw unreadable('GeoJSON', 'expected a FeatureCollection with a features array');
  }
  const crsName = fc.crs?.properties?.name;
  const crs = haveCrsOption ? null : typeof crsName === 'string' ? crsFromText(crsName) : fc.crs !== undefined && fc.crs !== null ? null : crsFromText('EPSG:4326');
  if (crs === null && !haveCrsOption) throw unreadable('GeoJSON/crs', 'only a named crs member ({"type":"name","properties":{"name":"EPSG:…"}}) is understood');
  const features: RawFeature[] = [];
  try {
    fc.features.forEach((f: unknown, i: number) => {
      const where = `features.${i}`;
      budget.feature(where);
      const feature = (f ?? {}) as { geometry?: unknown; properties?: unknown };
      if (typeof f !== 'object' || f === null) throw unreadable(`GeoJSON/${where}`, 'not a Feature object');
      budget.addGeometry(countPositions(feature.geometry), where);
      const props = feature.properties !== null && typeof feature.properties === 'object' && !Array.isArray(feature.properties) ? (feature.properties as Record<string, unknown>) : {};
      features.push({ geometry: feature.geometry ?? null, properties: nfcProperties(props) });
    });
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw unreadable('GeoJSON', errorText(e));
  }
  return { layer: null, crs, features, attributes: attributesOf(features) };
}
