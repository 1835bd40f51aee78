import fs from 'node:fs';
import path from 'node:path';
import { Knex } from 'knex';
import { area as turfArea, polygon as turfPolygon } from '@turf/turf';
import type { MultiPolygon, Position } from 'geojson';
import type { AreaInput } from '../src/geo/features';
import { arrayBindings } from '../src/db/knex';
import { gadmParentCode } from '../src/domain/areas';
import { seedsDir } from '../src/paths';

/**
 * The real administrative areas of Đồng Nai: 171 communes with their 2019 census
 * population (see dong-nai-communes.README.md for provenance), and the 11 districts and the
 * province derived from them: codes from the GADM ids, geometry as the union of the
 * children, population as the sum.
 */
export const DONG_NAI_FILE = path.join(seedsDir, 'dong-nai-communes.geojson');

type CommuneFeature = {
  properties: { code: string; name: string; district: string; province: string; population: number };
  geometry: { type: 'Polygon'; coordinates: Position[][] } | MultiPolygon;
};

export function readCommunes(file = DONG_NAI_FILE): CommuneFeature[] {
  const fc = JSON.parse(fs.readFileSync(file, 'utf8')) as { features: CommuneFeature[] };
  return fc.features;
}

const toMulti = (g: CommuneFeature['geometry']): MultiPolygon =>
  g.type === 'Polygon' ? { type: 'MultiPolygon', coordinates: [g.coordinates] } : g;

/** The source thinned each commune alone, so a union has sliver holes along shared borders. */
const SLIVER_M2 = 1_000_000;

function dropSlivers(g: MultiPolygon): MultiPolygon {
  const polygons = g.coordinates
    .filter((rings) => turfArea(turfPolygon([rings[0] as Position[]])) >= SLIVER_M2)
    .map((rings) => [rings[0] as Position[], ...rings.slice(1).filter((hole) => turfArea(turfPolygon([hole])) >= SLIVER_M2)]);
  return { type: 'MultiPolygon', coordinates: polygons };
}

export async function unionGeometries(knex: Knex, geometries: MultiPolygon[]): Promise<MultiPolygon> {
  const res = await knex.raw<{ rows: { g: string }[] }>(
    `SELECT ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(ST_SetSRID(ST_GeomFromGeoJSON(j), 4326))), 3)), 7) AS g
     FROM unnest(?::text[]) AS j`,
    arrayBindings([geometries.map((g) => JSON.stringify(g))]),
  );
  return dropSlivers(JSON.parse((res.rows[0] as { g: string }).g) as MultiPolygon);
}

export async function dongNaiAreas(knex: Knex, file = DONG_NAI_FILE): Promise<AreaInput[]> {
  const communes: AreaInput[] = readCommunes(file).map((f) => ({
    code: f.properties.code,
    name: f.properties.name,
    kind: 'commune',
    parent: gadmParentCode(f.properties.code),
    population: f.properties.population,
    geometry: toMulti(f.geometry),
  }));
  const districtNames = new Map<string, string>();
  let provinceName = '';
  for (const f of readCommunes(file)) {
    districtNames.set(gadmParentCode(f.properties.code) as string, f.properties.district);
    provinceName = f.properties.province;
  }
  const districts: AreaInput[] = [];
  for (const [code, name] of [...districtNames].sort()) {
    const children = communes.filter((c) => c.parent === code);
    districts.push({
      code,
      name,
      kind: 'district',
      parent: gadmParentCode(code),
      population: children.reduce((s, c) => s + (c.population ?? 0), 0),
      geometry: await unionGeometries(knex, children.map((c) => c.geometry)),
    });
  }
  const provinceCode = gadmParentCode(districts[0]?.code ?? '') as string;
  const province: AreaInput = {
    code: provinceCode,
    name: `Tỉnh ${provinceName}`,
    kind: 'province',
    parent: null,
    population: districts.reduce((s, d) => s + (d.population ?? 0), 0),
    geometry: await unionGeometries(knex, communes.map((c) => c.geometry)),
  };
  return [province, ...districts, ...communes];
}
