import { DiskchainError } from '../../shared/errors.js';
import type { DiskInfo, LayerInfo } from '../../shared/types.js';
import { formatCid } from '../formats/descriptor.js';
import type { Chain } from './chain.js';
import { adapterTypeOf, geometryReport } from './geometry.js';
import { linksDamage } from './damage.js';
import { extentOwner } from './extent-owner.js';
import type { Link } from './link.js';

export function diskInfo(chain: Chain): DiskInfo {
  const geometry = geometryReport(chain);
  return {
    path: chain.top.path,
    createType: kindOf(chain.top),
    capacityBytes: chain.capacityBytes,
    geometry: geometry.geometry,
    adapterType: adapterTypeOf(chain),
    layers: chain.links.map(layerInfo),
    problems: chain.problems,
    damage: linksDamage(chain.links),
    ...(chain.missingParent ? { missingParent: chain.missingParent } : {}),
    ...extentOfTop(chain.top),
  };
}

/**
 * The kind as people and our writer name it. ESX writes a thin disk as createType "vmfs" with
 * ddb.thinProvisioned = "1" (format doc §1.4), and so does `import --thin`; both read as vmfsThin.
 */
function kindOf(link: Link): string {
  const thin = link.descriptor?.ddb.get('ddb.thinprovisioned') === '1';
  return link.createType === 'vmfs' && thin ? 'vmfsThin' : link.createType;
}

/** Only a file without a descriptor of its own (a -flat, -sNNN or -delta file opened directly) can be someone's extent. */
function extentOfTop(top: Link): Pick<DiskInfo, 'extentOf'> {
  const owner = top.descriptorText === null ? extentOwner(top.path) : null;
  return owner === null ? {} : { extentOf: owner };
}

export function layerInfo(link: Link): LayerInfo {
  const d = link.descriptor;
  const rdmExtent = link.extents.find((e) => e.type === 'VMFSRDM' || e.type === 'VMFSRAW');
  const rdm: LayerInfo['rdm'] = rdmExtent
    ? { mode: /passthrough/i.test(link.createType) || rdmExtent.type === 'VMFSRAW' ? 'physical' : 'virtual', mapping: rdmExtent.path ?? '' }
    : undefined;
  return {
    ...(rdm ? { rdm } : {}),
    path: link.path,
    createType: kindOf(link),
    cid: d?.cid === undefined ? null : (d.cidText ?? formatCid(d.cid)),
    parentCid: d?.parentCid === undefined ? null : (d.parentCidText ?? formatCid(d.parentCid)),
    parent: link.parent,
    capacityBytes: link.capacityBytes,
    extents: link.extents,
    allocatedBytes: allocatedOf(link),
    header: link.header,
    descriptor: link.descriptorText,
    warnings: link.warnings,
  };
}

/**
 * A link that lost grains cannot count what it holds exactly (the count fails like the read
 * does); info still answers, with the bytes its files hold, and reports the damage beside it.
 */
function allocatedOf(link: Link): number {
  try {
    return link.data.allocatedBytes();
  } catch (e) {
    if (!(e instanceof DiskchainError) || e.code !== 'E_FORMAT' || !link.data.lostRanges?.().length) throw e;
    const files = new Set([link.path, ...link.extents.flatMap((x) => (x.path === null ? [] : [x.path]))]);
    let held = 0;
    for (const f of files) held += link.source.stat(f)?.size ?? 0;
    return held;
  }
}
