import type { Geometry, GeometryReport } from '../../shared/types.js';
import type { Chain } from './chain.js';
import { headerNumber } from './link.js';

/** Geometry VMware writes for a new disk (§6): IDE 16/63 capped; SCSI 64/32 under 1 GiB, else 255/63. */
export function writeGeometry(capacitySectors: number, adapter: string): Geometry {
  if (adapter === 'ide') return { cylinders: Math.min(Math.floor(capacitySectors / 1008), 16383), heads: 16, sectors: 63 };
  if (capacitySectors < 2097152) return { cylinders: Math.floor(capacitySectors / 2048), heads: 64, sectors: 32 };
  return { cylinders: Math.floor(capacitySectors / 16065), heads: 255, sectors: 63 };
}

/** What ESX and Workstation use when a descriptor names no geometry (§6 and issue 3). */
export function defaultGeometry(capacitySectors: number, adapterType: string): Geometry {
  if (adapterType.toLowerCase() === 'ide') {
    return { cylinders: Math.min(Math.floor(capacitySectors / (16 * 63)), 16383), heads: 16, sectors: 63 };
  }
  return { cylinders: Math.floor(capacitySectors / (255 * 63)), heads: 255, sectors: 63 };
}

/**
 * The DDB is inherited down a chain (§1.6): look a key up from the top link to the base.
 * Returns the first value found.
 */
export function ddbLookup(chain: Chain, key: string): string | undefined {
  const lower = key.toLowerCase();
  for (const link of chain.links) {
    const v = link.descriptor?.ddb.get(lower);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * The adapter the disk was made for. ESX 2 had only SCSI virtual disks, so a bare `.dsk`,
 * `-flat.vmdk` or COWD file is `legacyESX`: SCSI semantics, controller unknown (§8.10).
 */
export function adapterTypeOf(chain: Chain): string {
  return ddbLookup(chain, 'ddb.adapterType') ?? 'legacyESX';
}

function geometryFromDdb(chain: Chain, prefix: 'geometry' | 'geometry.bios'): Geometry | undefined {
  const names =
    prefix === 'geometry' ? ['cylinders', 'heads', 'sectors'] : ['biosCylinders', 'biosHeads', 'biosSectors'];
  const values = names.map((n) => Number(ddbLookup(chain, `ddb.geometry.${n}`)));
  if (values.some((v) => !Number.isInteger(v) || v < 0)) return undefined;
  const [cylinders, heads, sectors] = values as [number, number, number];
  if (prefix === 'geometry.bios' && cylinders === 0 && heads === 0 && sectors === 0) return undefined;
  return { cylinders, heads, sectors };
}

function cowdGeometry(chain: Chain): Geometry | undefined {
  for (const link of chain.links) {
    if (link.createType !== 'cowd') continue;
    const [cylinders, heads, sectors] = ['cylinders', 'heads', 'sectors'].map((k) => headerNumber(link, `geometry.${k}`));
    if (cylinders !== undefined && heads !== undefined && sectors !== undefined) return { cylinders, heads, sectors };
  }
  return undefined;
}

export function geometryReport(chain: Chain): GeometryReport {
  const capacitySectors = Math.floor(chain.capacityBytes / 512);
  const adapterType = adapterTypeOf(chain);
  const fallback = defaultGeometry(capacitySectors, adapterType);
  const fromDdb = geometryFromDdb(chain, 'geometry');
  const fromCowd = fromDdb ? undefined : cowdGeometry(chain);
  const geometry = fromDdb ?? fromCowd ?? fallback;
  const source = fromDdb ? 'descriptor' : fromCowd ? 'cowd-header' : 'default';
  const reasons = source === 'default' ? [] : geometryMismatches(geometry, capacitySectors, adapterType);
  const report: GeometryReport = {
    geometry,
    defaultGeometry: fallback,
    adapterType,
    source,
    mismatch: reasons.length > 0,
    reasons,
  };
  const bios = geometryFromDdb(chain, 'geometry.bios');
  if (bios) report.biosGeometry = bios;
  return report;
}

/** Classic BusLogic tiers VMware still writes for small SCSI disks (§6): 64/32 and 128/32. */
function scsiHeadSectorChoices(capacitySectors: number): Array<[number, number]> {
  const choices: Array<[number, number]> = [[255, 63]];
  if (capacitySectors < 2 * 1024 * 1024 * 2) choices.push([128, 32]);
  if (capacitySectors < 1024 * 1024 * 2) choices.push([64, 32]);
  return choices;
}

export function geometryMismatches(g: Geometry, capacitySectors: number, adapterType: string): string[] {
  const reasons: string[] = [];
  const ide = adapterType.toLowerCase() === 'ide';
  if (g.heads < 1 || g.heads > 255 || g.sectors < 1 || g.sectors > 63) {
    return [`${g.heads} heads / ${g.sectors} sectors is not a valid geometry (1-255 heads, 1-63 sectors)`];
  }
  if (ide && (g.heads !== 16 || g.sectors !== 63)) {
    reasons.push(`IDE disks use 16 heads / 63 sectors, the descriptor says ${g.heads}/${g.sectors}`);
  }
  if (!ide && !scsiHeadSectorChoices(capacitySectors).some(([h, s]) => h === g.heads && s === g.sectors)) {
    reasons.push(`${adapterType} disks use 255 heads / 63 sectors, the descriptor says ${g.heads}/${g.sectors}`);
  }
  const perCylinder = g.heads * g.sectors;
  const floor = Math.floor(capacitySectors / perCylinder);
  const expected = ide ? Math.min(floor, 16383) : floor;
  // open-vmdk rounds up, VMware down: accept either (§6).
  const accepted = new Set([expected, ide ? Math.min(Math.ceil(capacitySectors / perCylinder), 16383) : Math.ceil(capacitySectors / perCylinder)]);
  if (!accepted.has(g.cylinders)) {
    if (ide && g.cylinders > 16383) reasons.push(`IDE cylinders are capped at 16383, the descriptor says ${g.cylinders}`);
    else reasons.push(`${g.cylinders} cylinders do not fit a capacity of ${capacitySectors} sectors (expected ${expected})`);
  }
  return reasons;
}
