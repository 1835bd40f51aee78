import { kml } from '@tmcw/togeojson';
import { DOMParser } from '@xmldom/xmldom';
import { AppError, unprocessable } from '../../errors';
import { WorkBudget } from './limits';
import { countPositions } from './project';
import { attributesOf, errorText, nfcProperties, RawFeature, RawRead, unreadable } from './raw';
import { contentEntries, listZip, readZipEntry, splitName } from './zip';

/** Properties togeojson derives from styles, not attributes of the data. */
const STYLE_KEYS = new Set(['styleUrl', 'styleHash', 'styleMapHash', 'stroke', 'stroke-opacity', 'stroke-width', 'fill', 'fill-opacity', 'icon', 'icon-scale', 'icon-color', 'icon-opacity', 'icon-offset', 'icon-offset-units', 'label-scale', 'label-color', 'label-opacity', 'visibility']);

/** A GeometryCollection of polygons (a KML MultiGeometry) as the MultiPolygon it means. */
function polygonal(g: unknown): unknown {
  const gc = g as { type?: string; geometries?: { type?: string; coordinates?: unknown }[] } | null;
  if (gc?.type !== 'GeometryCollection' || !Array.isArray(gc.geometries)) return g;
  const parts = gc.geometries.map(polygonal) as { type?: string; coordinates?: unknown[] }[];
  if (parts.length === 0 || !parts.every((p) => p?.type === 'Polygon' || p?.type === 'MultiPolygon')) return g;
  return { type: 'MultiPolygon', coordinates: parts.flatMap((p) => (p.type === 'Polygon' ? [p.coordinates] : (p.coordinates ?? []))) };
}

/**
 * KML (always EPSG:4326): refused outright if it has a DOCTYPE or an ENTITY (entity
 * expansion, external entities); parsed with @xmldom/xmldom, converted with @tmcw/togeojson.
 * Properties: name, description and the ExtendedData (Data and SchemaData) fields.
 */
export function readKml(bytes: Uint8Array, part: string, budget: WorkBudget): RawRead {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw unreadable(part, 'not UTF-8 text');
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw unprocessable(`KML có khai báo DOCTYPE/ENTITY, không được chấp nhận — ${part} declares a DOCTYPE or ENTITY, which is refused (entity expansion)`, [{ path: part, message: 'DOCTYPE/ENTITY not allowed' }], 'xml_doctype');
  }
  let features: RawFeature[];
  try {
    const doc = new DOMParser({
      onError: (level: string, message: string) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(text, 'text/xml');
    const fc = kml(doc as unknown as Parameters<typeof kml>[0]);
    features = [];
    for (const f of fc.features) {
      const where = `${part} placemark ${features.length + 1}`;
      budget.feature(where);
      const geometry = polygonal(f.geometry);
      budget.addGeometry(countPositions(geometry), where);
      const props = nfcProperties((f.properties ?? {}) as Record<string, unknown>);
      for (const k of STYLE_KEYS) delete props[k];
      features.push({ geometry, properties: props });
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw unreadable(part, errorText(e));
  }
  return { layer: null, crs: { name: 'EPSG:4326', proj4: '+proj=longlat +datum=WGS84 +no_defs' }, features, attributes: attributesOf(features) };
}

/** KMZ: a zip whose doc.kml (or only .kml) is read as KML. */
export function readKmz(bytes: Uint8Array, budget: WorkBudget): RawRead {
  const entries = contentEntries(listZip(bytes, 'KMZ'));
  const kmls = entries.filter((e) => splitName(e.name).ext === 'kml');
  const entry = kmls.find((e) => e.name.toLowerCase() === 'doc.kml') ?? (kmls.length === 1 ? kmls[0] : undefined);
  if (!entry) {
    throw unreadable('KMZ', kmls.length === 0 ? 'no .kml file in the KMZ' : `several .kml files and no doc.kml: ${kmls.map((e) => e.name).join(', ')}`);
  }
  return { ...readKml(readZipEntry(bytes, entry, 'KMZ'), `KMZ/${entry.name}`, budget), layer: entry.name };
}
