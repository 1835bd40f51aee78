import type { FieldMap } from './fieldMap';

/** The boundary file formats the reader knows. */
export const BOUNDARY_FORMATS = ['geojson', 'shapefile', 'geopackage', 'kml', 'kmz'] as const;
export type BoundaryFormat = (typeof BOUNDARY_FORMATS)[number];

/** A feature as read: geometry in EPSG:4326 (lon, lat), properties the canonical ones. */
export type BoundaryFeature = { type: 'Feature'; geometry: unknown; properties: Record<string, unknown> };

export type BoundaryRead = {
  type: 'FeatureCollection';
  features: BoundaryFeature[];
  source: {
    format: BoundaryFormat;
    /** the Shapefile's base name, the GeoPackage table, the KMZ's .kml entry; null for GeoJSON and KML */
    layer: string | null;
    /** the source CRS as declared or chosen: "EPSG:32648", "VN2000-TM3:107.75" or "WKT: <name>" */
    crs: string;
    features: number;
    /** the file's attribute names, in file order */
    attributes: string[];
  };
};

export type BoundaryOptions = {
  fieldMap?: FieldMap;
  /** the source CRS (see crsFromText); it overrides what the file declares */
  crs?: string;
  /** which Shapefile (base name, without .shp) of a zip, or which GeoPackage table */
  layer?: string;
};

/**
 * Work limits of one boundary file (an intruder controls every count in it). A file over
 * a limit is refused with 413; sizes of the body itself are bounded by the caller.
 */
export const LIMITS = {
  zipEntries: 64,
  /** uncompressed size of one zip entry, and of all entries together */
  zipEntryBytes: 512 * 1024 * 1024,
  zipTotalBytes: 512 * 1024 * 1024,
  /** an entry larger than zipRatioFloorBytes must not be compressed more than zipRatio:1 */
  zipRatio: 200,
  zipRatioFloorBytes: 16 * 1024 * 1024,
  features: 200_000,
  /** rings (and polygons): a file of millions of empty rings costs as much to move as its vertices */
  rings: 1_000_000,
  vertices: 20_000_000,
} as const;
