import * as path from 'node:path';
import type { CheckReport, Problem } from '../../shared/types.js';
import { formatBytes } from '../../shared/bytes.js';
import { openChain } from './chain.js';
import { lbaRange } from './damage.js';

const MAX_LOST_LISTED = 20;
import { geometryReport } from './geometry.js';

/**
 * Structural check of every link of a chain. Opening failures propagate (the caller reports
 * "cannot open"); everything that can be described becomes a Problem with its file and location.
 */
export function checkDisk(diskPath: string): CheckReport {
  const chain = openChain(diskPath, { ignoreCid: true, acceptDamage: true });
  try {
    const problems: Problem[] = [...chain.problems];
    chain.links.forEach((link, i) => {
      for (const w of link.warnings) problems.push({ severity: 'warning', file: link.path, location: 'descriptor', message: w });
      const lost = link.data.lostRanges?.() ?? [];
      // Lost data is listed as merged LBA ranges; the per-grain "past the end" lines would repeat it.
      const own = link.data.check();
      problems.push(...(lost.length > 0 ? own.filter((p) => !/past the end of the file/.test(p.message)) : own));
      for (const r of lost.slice(0, MAX_LOST_LISTED)) {
        problems.push({
          severity: 'error',
          file: link.path,
          location: lbaRange(r.offset, r.length),
          message: `${formatBytes(r.length, 1)} lost: its grain table or grains lie past the end of the file`,
        });
      }
      if (lost.length > MAX_LOST_LISTED) problems.push({ severity: 'error', file: link.path, message: `${lost.length - MAX_LOST_LISTED} more lost ranges` });
      const parent = chain.links[i + 1];
      if (parent && parent.capacityBytes !== link.capacityBytes) {
        problems.push({
          severity: 'warning',
          file: link.path,
          message: `capacity ${link.capacityBytes} bytes differs from its parent ${path.basename(parent.path)} (${parent.capacityBytes} bytes)`,
        });
      }
    });
    const geometry = geometryReport(chain);
    for (const reason of geometry.reasons) {
      problems.push({ severity: 'warning', file: chain.top.path, location: 'ddb.geometry', message: reason });
    }
    return {
      path: chain.top.path,
      problems,
      errors: problems.filter((p) => p.severity === 'error').length,
      warnings: problems.filter((p) => p.severity === 'warning').length,
    };
  } finally {
    chain.close();
  }
}
