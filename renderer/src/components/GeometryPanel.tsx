import type { Geometry, GeometryReport } from '../../../shared/types';
import { cleanText, formatBytes } from '../format';
import { OkNote, WarningNote } from './ErrorNote';

const SOURCES: Record<GeometryReport['source'], string> = {
  descriptor: 'the descriptor (ddb.geometry.*)',
  'cowd-header': 'the COWD header',
  default: 'not recorded: the default VMware would use for this adapter',
};

const chs = (g: Geometry): string => `${g.cylinders.toLocaleString()} / ${g.heads} / ${g.sectors}`;
const chsBytes = (g: Geometry): number => g.cylinders * g.heads * g.sectors * 512;

/** C/H/S, BIOS geometry and adapter, and why they do or do not fit the capacity. */
export function GeometryPanel({ report, capacityBytes }: { report: GeometryReport; capacityBytes: number }) {
  return (
    <div className="stack">
      {report.mismatch ? (
        <WarningNote>
          <strong>The geometry does not fit this disk.</strong>
          <ul className="reasons">
            {report.reasons.map((r, i) => (
              <li key={i}>{cleanText(r)}</li>
            ))}
          </ul>
          A guest that boots by C/H/S (old BIOS, some boot loaders) may not find its partitions. Converting with the right adapter
          writes the default geometry.
        </WarningNote>
      ) : (
        <OkNote>The geometry fits the capacity and the adapter.</OkNote>
      )}
      <section className="card" aria-labelledby="geometry-title">
        <h2 id="geometry-title">Geometry</h2>
        <table className="data geometry" aria-label="Geometry">
          <thead>
            <tr>
              <th scope="col"></th>
              <th scope="col">Cylinders / heads / sectors</th>
              <th scope="col" className="num">
                Addressable by C/H/S
              </th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Recorded</th>
              <td className="mono">{chs(report.geometry)}</td>
              <td className="num">{formatBytes(chsBytes(report.geometry))}</td>
            </tr>
            <tr>
              <th scope="row">Default for {cleanText(report.adapterType, 32)}</th>
              <td className="mono">{chs(report.defaultGeometry)}</td>
              <td className="num">{formatBytes(chsBytes(report.defaultGeometry))}</td>
            </tr>
            <tr>
              <th scope="row">BIOS</th>
              <td className="mono">{report.biosGeometry ? chs(report.biosGeometry) : <span className="muted">not recorded</span>}</td>
              <td className="num">{report.biosGeometry ? formatBytes(chsBytes(report.biosGeometry)) : ''}</td>
            </tr>
          </tbody>
        </table>
        <dl className="kv spaced">
          <dt>Adapter</dt>
          <dd>{cleanText(report.adapterType, 32)}</dd>
          <dt>Geometry from</dt>
          <dd>{SOURCES[report.source]}</dd>
          <dt>Capacity</dt>
          <dd>
            {formatBytes(capacityBytes)} <span className="muted">({(capacityBytes / 512).toLocaleString()} sectors)</span>
          </dd>
        </dl>
      </section>
    </div>
  );
}
