import { AreaKind, kindRank } from '../areas';
import { LevelOrUnknown } from '../levels';
import { ChildLevels, Classification, classify, Inputs } from './engine';
import { RuleSet } from './definition';

/**
 * Classifies a whole hierarchy, children before parents, so that roll-up steps see their
 * children's final levels. `finish` turns the rules' classification of an area into its
 * final level (persistence, say) and whatever the caller wants back. Pure.
 */
export type TreeArea = { id: number; kind: AreaKind; parent_id: number | null };

export function classifyTree<A extends TreeArea, R>(
  ruleSet: RuleSet,
  areas: A[],
  inputsOf: (area: A) => Inputs,
  finish: (area: A, rules: Classification, children: ChildLevels) => { level: LevelOrUnknown; result: R },
): R[] {
  const order = [...areas].sort((a, b) => kindRank(b.kind) - kindRank(a.kind) || a.id - b.id);
  const children = new Map<number, LevelOrUnknown[]>();
  const out: R[] = [];
  for (const a of order) {
    const kids = children.get(a.id) ?? [];
    const { level, result } = finish(a, classify(ruleSet, a.kind, inputsOf(a), kids), kids);
    if (a.parent_id !== null) {
      const list = children.get(a.parent_id) ?? [];
      list.push(level);
      children.set(a.parent_id, list);
    }
    out.push(result);
  }
  return out;
}

/** Does the rule set roll this kind up from its children? */
export function rollsUp(ruleSet: RuleSet, kind: AreaKind): boolean {
  return ruleSet.levels.find((g) => g.kinds.includes(kind))?.steps.some((s) => s.type === 'rollup') ?? false;
}
