import { fc, feature, smallProvince, square } from '../helpers/fixtures';
import { testContext } from '../helpers/context';

/**
 * The areas' extent (the OGC API collections' bbox, the TileJSON's bounds) is kept by the
 * areas' version (db/maps.ts `MapStore.extent`): asked again it is the same, and areas
 * imported since widen it at once.
 */
const ctx = testContext();
const http = () => ctx.http();
afterAll(() => ctx.close());

const importAreas = (body: unknown) => http().post('/v1/areas').set('Content-Type', 'application/json').send(JSON.stringify(body)).expect(200);
const bounds = async () => {
  const ogc = (await http().get('/ogc/collections/zones').expect(200)).body.extent.spatial.bbox[0] as number[];
  const tj = (await http().get('/tiles/zones.json').expect(200)).body.bounds as number[];
  expect(tj).toEqual(ogc);
  return ogc;
};

test('the extent is kept, and follows the areas when they change', async () => {
  await ctx.reset();
  await importAreas(smallProvince());
  const first = await bounds();
  expect(first).toEqual([106, 10, 106.4, 10.4]);
  expect(await bounds()).toEqual(first);
  // another province far to the north-east
  await importAreas(fc([feature({ code: 'Q', name: 'Tỉnh Thứ Hai', kind: 'province', parent: null, population: 1000 }, square(108, 12, 0.5))]));
  expect(await bounds()).toEqual([106, 10, 108.5, 12.5]);
});
