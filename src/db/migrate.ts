import { Knex } from 'knex';
import * as foundation from '../../migrations/20261123000001_foundation';
import * as classification from '../../migrations/20261123000002_classification';
import * as compactLevels from '../../migrations/20261123000003_compact_levels';
import * as apiKeys from '../../migrations/20261123000004_api_keys';
import * as audit from '../../migrations/20261123000005_audit';
import * as schedule from '../../migrations/20261123000006_schedule';
import * as events from '../../migrations/20261123000007_events';
import * as instances from '../../migrations/20261129000008_instances';
import * as mapVersions from '../../migrations/20261129000009_map_versions';
import * as jobQueue from '../../migrations/20261201000010_job_queue';
import * as areaTreeFunction from '../../migrations/20261201000011_area_tree_function';
import * as ruleSetTimeline from '../../migrations/20261201000012_rule_set_timeline';
import * as overrideHistory from '../../migrations/20261201000013_override_history';
import * as changeTriggers from '../../migrations/20261202000014_change_triggers';
import * as imports from '../../migrations/20261202000015_imports';
import * as areasOverTime from '../../migrations/20261202000016_areas_over_time';
import * as levelsInputsJson from '../../migrations/20261202000017_levels_inputs_json';
import * as areasGeometryOutOfLine from '../../migrations/20261202000018_areas_geometry_out_of_line';
import * as levelsOneIndex from '../../migrations/20261202000019_levels_one_index';
import * as levelRefsOnePass from '../../migrations/20261203000020_level_refs_one_pass';
import * as levelRefsByRange from '../../migrations/20261203000021_level_refs_by_range';
import * as levelsInputsText from '../../migrations/20261203000022_levels_inputs_text';
import * as dataChanges from '../../migrations/20261203000023_data_changes';
import * as levelEventsSetBased from '../../migrations/20261203000024_level_events_set_based';
import * as levelsInChunks from '../../migrations/20261204000025_levels_in_chunks';

type Migration = { name: string; module: Knex.Migration };

/**
 * Migrations are TypeScript modules under migrations/, listed here so that they load the
 * same way under ts-jest, ts-node and the compiled build.
 */
export const migrations: Migration[] = [
  { name: '20261123000001_foundation', module: foundation },
  { name: '20261123000002_classification', module: classification },
  { name: '20261123000003_compact_levels', module: compactLevels },
  { name: '20261123000004_api_keys', module: apiKeys },
  { name: '20261123000005_audit', module: audit },
  { name: '20261123000006_schedule', module: schedule },
  { name: '20261123000007_events', module: events },
  { name: '20261129000008_instances', module: instances },
  { name: '20261129000009_map_versions', module: mapVersions },
  { name: '20261201000010_job_queue', module: jobQueue },
  { name: '20261201000011_area_tree_function', module: areaTreeFunction },
  { name: '20261201000012_rule_set_timeline', module: ruleSetTimeline },
  { name: '20261201000013_override_history', module: overrideHistory },
  { name: '20261202000014_change_triggers', module: changeTriggers },
  { name: '20261202000015_imports', module: imports },
  { name: '20261202000016_areas_over_time', module: areasOverTime },
  { name: '20261202000017_levels_inputs_json', module: levelsInputsJson },
  { name: '20261202000018_areas_geometry_out_of_line', module: areasGeometryOutOfLine },
  { name: '20261202000019_levels_one_index', module: levelsOneIndex },
  { name: '20261203000020_level_refs_one_pass', module: levelRefsOnePass },
  { name: '20261203000021_level_refs_by_range', module: levelRefsByRange },
  { name: '20261203000022_levels_inputs_text', module: levelsInputsText },
  { name: '20261203000023_data_changes', module: dataChanges },
  { name: '20261203000024_level_events_set_based', module: levelEventsSetBased },
  { name: '20261204000025_levels_in_chunks', module: levelsInChunks },
];

const source: Knex.MigrationSource<Migration> = {
  getMigrations: async () => migrations,
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m.module,
};

const config: Knex.MigratorConfig = { migrationSource: source, tableName: 'knex_migrations' };

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(config)) as [number, string[]];
  return applied;
}

/** True when every known migration has been applied. */
export async function migrationsCurrent(knex: Knex): Promise<boolean> {
  const hasTable = await knex.schema.hasTable('knex_migrations');
  if (!hasTable) return false;
  const rows = await knex<{ name: string }>('knex_migrations').select('name');
  const done = new Set(rows.map((r) => r.name));
  return migrations.every((m) => done.has(m.name));
}
