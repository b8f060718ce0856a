import * as path from 'node:path';
import type { CheckReport, Problem } from '../../shared/types.js';
import { openChain } from './chain.js';
import { geometryReport } from './geometry.js';

/**
 * Structural check of every link of a chain. Opening failures propagate (the caller reports
 * "cannot open"); everything that can be described becomes a Problem with its file and location.
 */
export function checkDisk(diskPath: string): CheckReport {
  const chain = openChain(diskPath, { ignoreCid: true });
  try {
    const problems: Problem[] = [...chain.problems];
    chain.links.forEach((link, i) => {
      for (const w of link.warnings) problems.push({ severity: 'warning', file: link.path, location: 'descriptor', message: w });
      problems.push(...link.data.check());
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
