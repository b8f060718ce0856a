/** How a chain link is described in the UI: its role, kind, and whether its tie to the parent holds. */
import type { LayerInfo, ParentRef } from '../../shared/types';
import { baseName } from './format';

export const LAYER_COLOURS = 8;

/** CSS custom property holding the colour of layer `index` (same in the chain and the map). */
export function layerColourVar(index: number): string {
  return `var(--layer-${index % LAYER_COLOURS})`;
}

export function linkRole(layer: LayerInfo, index: number, count: number): string {
  if (index === count - 1) return count > 1 ? 'base' : 'disk';
  if (/\.REDO$/i.test(layer.path)) return 'REDO log';
  const t = layer.createType.toLowerCase();
  if (t === 'vmfssparse' || t === 'cowd') return 'delta (COWD)';
  if (t === 'sesparse') return 'delta (seSparse)';
  return 'snapshot';
}

export function parentSource(ref: ParentRef): string {
  switch (ref.source) {
    case 'parentFileNameHint':
      return 'named by parentFileNameHint';
    case 'cowd-header':
      return 'named in the COWD header';
    case 'redo-name':
      return 'found by the .REDO name';
  }
}

export interface LinkTie {
  /** The child's parentCID differs from the parent's CID. */
  broken: boolean;
  /** A sentence for people: how the child finds its parent, or why the tie is broken. */
  explanation: string;
}

const sameCid = (a: string, b: string): boolean => parseInt(a, 16) === parseInt(b, 16);

/** The tie between `child` and its `parent` (the next link towards the base). */
export function linkTie(child: LayerInfo, parent: LayerInfo): LinkTie {
  const childName = baseName(child.path);
  const parentName = baseName(parent.path);
  if (child.parentCid !== null && parent.cid !== null && !sameCid(child.parentCid, parent.cid)) {
    return {
      broken: true,
      explanation:
        `CID mismatch: ${childName} expects its parent to have CID ${child.parentCid}, but ${parentName} has CID ${parent.cid}. ` +
        `${parentName} was changed after this snapshot was taken, so reading through ${childName} may mix old and new data.`,
    };
  }
  const how = child.parent ? parentSource(child.parent) : 'the parent';
  const cid = child.parentCid !== null && parent.cid !== null ? `CID ${parent.cid} matches` : 'no CID to compare (ESX 2 style)';
  return { broken: false, explanation: `${parentName} is ${childName}'s parent (${how}); ${cid}.` };
}
