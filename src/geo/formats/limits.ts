import { AppError } from '../../errors';
import { LIMITS } from './types';

/** 413: the file is larger than the service takes; the message names the part. */
export const tooLarge = (message: string, path = '(file)') => new AppError(413, 'file_too_large', message, [{ path, message }]);

/**
 * Counts features, vertices and rings as a reader produces them and refuses (413) past
 * LIMITS.features / LIMITS.vertices / LIMITS.rings — before the rest of the file is read.
 */
export class WorkBudget {
  features = 0;
  vertices = 0;
  rings = 0;
  constructor(
    private readonly maxFeatures: number = LIMITS.features,
    private readonly maxVertices: number = LIMITS.vertices,
    private readonly maxRings: number = LIMITS.rings,
  ) {}

  feature(where: string): void {
    if (++this.features > this.maxFeatures) {
      throw tooLarge(`Tệp có quá nhiều đối tượng (tối đa ${this.maxFeatures}) — the file has more than ${this.maxFeatures} features`, where);
    }
  }

  /** A geometry's positions and rings (see project.ts countPositions). */
  addGeometry(counts: { positions: number; rings: number }, where: string): void {
    this.rings += counts.rings;
    if (this.rings > this.maxRings) {
      throw tooLarge(`Tệp có quá nhiều vòng (tối đa ${this.maxRings}) — the file has more than ${this.maxRings} rings`, where);
    }
    this.addVertices(counts.positions, where);
  }

  addVertices(n: number, where: string): void {
    this.vertices += n;
    if (this.vertices > this.maxVertices) {
      throw tooLarge(`Tệp có quá nhiều đỉnh (tối đa ${this.maxVertices}) — the file has more than ${this.maxVertices} vertices`, where);
    }
  }
}
