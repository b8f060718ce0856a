/**
 * Resource ("system") files (vmfs.md §3.4): .fdc.sf holds the FDs, .sbc.sf the sub-blocks, .pbc.sf
 * the pointer blocks, .fbb.sf the file-block bitmap. Each starts with a header that gives its
 * geometry: resources are grouped in clusters, clusters in cluster groups, and each group starts
 * with one header per cluster.
 */
import { DiskchainError } from '../../shared/errors.js';

export const RESOURCE_SIGNATURE = 0x72666d64; // "rfmd"
export const RESOURCE_HEADER_BYTES = 0x40;

export interface ResourceGeometry {
  /** Which system file, for errors: ".fdc.sf". */
  name: string;
  resourcesPerCluster: number;
  clustersPerGroup: number;
  /** Where the first cluster group starts in the file. */
  groupOffset: number;
  resourceSize: number;
  groupSize: number;
  numResources: number;
  numGroups: number;
  /** Bytes of one cluster header: 1 KiB on VMFS-3/5, 2 × mdAlignment on VMFS-6. */
  clusterHeaderSize: number;
}

export function parseResourceHeader(b: Buffer, name: string, clusterHeaderSize: number, family: number, file: string, at: number): ResourceGeometry {
  const g: ResourceGeometry = {
    name,
    resourcesPerCluster: b.readUInt32LE(0),
    clustersPerGroup: b.readUInt32LE(4),
    groupOffset: b.readUInt32LE(8),
    resourceSize: b.readUInt32LE(0x0c),
    groupSize: b.readUInt32LE(0x10),
    numResources: b.readUInt32LE(0x14) + b.readUInt32LE(0x1c) * 2 ** 32,
    numGroups: b.readUInt32LE(0x18),
    clusterHeaderSize,
  };
  const bad = (what: string, off: number): DiskchainError => new DiskchainError('E_FORMAT', `VMFS ${name} header: ${what}`, file, at + off);
  if (family >= 6 && b.readUInt32LE(0x20) !== RESOURCE_SIGNATURE) throw bad('no "rfmd" signature', 0x20);
  if (g.resourcesPerCluster < 1 || g.resourcesPerCluster > 65536) throw bad(`${g.resourcesPerCluster} resources per cluster`, 0);
  if (g.clustersPerGroup < 1 || g.clustersPerGroup > 65536) throw bad(`${g.clustersPerGroup} clusters per group`, 4);
  // .fbb.sf's resources are the file blocks themselves, not bytes of the file: its resource size may be 0.
  if ((g.resourceSize < 1 && name !== '.fbb.sf') || g.resourceSize > 64 * 1024 * 1024) throw bad(`resource size ${g.resourceSize}`, 0x0c);
  if (g.numGroups > 1 << 24) throw bad(`${g.numGroups} cluster groups`, 0x18);
  const minGroup = g.clustersPerGroup * (clusterHeaderSize + g.resourcesPerCluster * g.resourceSize);
  if (g.groupSize < minGroup) throw bad(`cluster group size ${g.groupSize} is smaller than its ${g.clustersPerGroup} clusters (${minGroup} bytes)`, 0x10);
  if (g.numResources > g.numGroups * g.clustersPerGroup * g.resourcesPerCluster) throw bad(`${g.numResources} resources do not fit in ${g.numGroups} cluster groups`, 0x14);
  return g;
}

/** Byte offset in the resource file of (cluster, resource); checked against the geometry. */
export function resourceOffset(g: ResourceGeometry, cluster: number, resource: number, file: string): number {
  const clusters = g.numGroups * g.clustersPerGroup;
  if (cluster >= clusters || resource >= g.resourcesPerCluster) {
    throw new DiskchainError('E_FORMAT', `VMFS ${g.name}: resource ${resource} of cluster ${cluster} lies outside the file (${clusters} clusters of ${g.resourcesPerCluster})`, file);
  }
  const group = Math.floor(cluster / g.clustersPerGroup);
  const inGroup = cluster % g.clustersPerGroup;
  return g.groupOffset + group * g.groupSize + g.clustersPerGroup * g.clusterHeaderSize + inGroup * g.resourcesPerCluster * g.resourceSize + resource * g.resourceSize;
}

/** Where cluster c's header is in the file. */
export function clusterHeaderOffset(g: ResourceGeometry, cluster: number): number {
  const group = Math.floor(cluster / g.clustersPerGroup);
  return g.groupOffset + group * g.groupSize + (cluster % g.clustersPerGroup) * g.clusterHeaderSize;
}
