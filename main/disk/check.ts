import * as path from 'node:path';
import type { CheckReport, Problem } from '../../shared/types.js';
import { formatBytes } from '../../shared/bytes.js';
import { openChain } from './chain.js';
import { lbaRange } from './damage.js';
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
      let kept = lost.length > 0 ? own.filter((p) => !/past the end of the file/.test(p.message)) : own;
      // The reader's "N more not listed" then counts more of the same lines: the ranges say it all.
      if (kept.length === 1 && own.length > 1 && /more problems not listed/.test(kept[0]!.message)) kept = [];
      problems.push(...kept);
      // Every range: `check --json` lists them all; the CLI's text keeps to a screenful.
      for (const r of lost) {
        problems.push({
          severity: 'error',
          file: link.path,
          location: lbaRange(r.offset, r.length),
          message: `${formatBytes(r.length, 1)} lost: its grain table or grains lie past the end of the file`,
        });
      }
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
