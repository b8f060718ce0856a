import type { CSSProperties } from 'react';
import type { DiskInfo } from '../../../shared/types';
import { layerColourVar, linkRole, linkTie, parentSource } from '../chain';
import { baseName, cleanText, formatBytes } from '../format';
import { WarningNote } from './ErrorNote';

/** One chain link in full: identity, CIDs, parent, sizes, header fields, extents, descriptor text. */
export function LinkDetail({ info, index, onClose }: { info: DiskInfo; index: number; onClose: () => void }) {
  const layer = info.layers[index];
  if (!layer) return null;
  const parent = info.layers[index + 1];
  const tie = parent ? linkTie(layer, parent) : null;
  const name = cleanText(baseName(layer.path), 200);
  const headerEntries = Object.entries(layer.header);
  const style = { '--layer-color': layerColourVar(index) } as CSSProperties;

  return (
    <section className="card link-detail" aria-labelledby="link-detail-title" style={style}>
      <div className="card-head">
        <span className="swatch" aria-hidden="true" />
        <h2 id="link-detail-title">{name}</h2>
        <span className="badge">{linkRole(layer, index, info.layers.length)}</span>
        <span className="grow" />
        <button type="button" className="quiet small" onClick={onClose} aria-label="Close link details">
          Close
        </button>
      </div>
      <dl className="kv">
        <dt>File</dt>
        <dd className="mono">{cleanText(layer.path)}</dd>
        <dt>Kind</dt>
        <dd>{cleanText(layer.createType, 64)}</dd>
        <dt>CID</dt>
        <dd className="mono">{layer.cid ?? '— (none in this format)'}</dd>
        <dt>parentCID</dt>
        <dd className="mono">{layer.parentCid ?? '—'}</dd>
        <dt>Parent</dt>
        <dd>
          {layer.parent ? (
            <>
              <span className="mono">{cleanText(layer.parent.name, 1024)}</span> <span className="muted">({parentSource(layer.parent)})</span>
            </>
          ) : (
            <span className="muted">none: this is the base</span>
          )}
        </dd>
        <dt>Capacity</dt>
        <dd>
          {formatBytes(layer.capacityBytes)} <span className="muted">({layer.capacityBytes.toLocaleString()} bytes)</span>
        </dd>
        <dt>Allocated</dt>
        <dd>
          {formatBytes(layer.allocatedBytes)}{' '}
          {layer.capacityBytes > 0 && <span className="muted">({((layer.allocatedBytes / layer.capacityBytes) * 100).toFixed(1)} % of capacity)</span>}
        </dd>
      </dl>

      {tie?.broken && (
        <div className="spaced">
          <WarningNote>{tie.explanation}</WarningNote>
        </div>
      )}
      {layer.warnings.map((w, i) => (
        <div className="spaced" key={i}>
          <WarningNote>{cleanText(w)}</WarningNote>
        </div>
      ))}

      <h3 className="section-title">Extents</h3>
      {layer.extents.length === 0 ? (
        <p className="muted">No extents: the data is in this file’s own structures.</p>
      ) : (
        <table className="data" aria-label="Extents">
          <thead>
            <tr>
              <th>Access</th>
              <th>Type</th>
              <th className="num">Sectors</th>
              <th className="num">Offset</th>
              <th>File</th>
            </tr>
          </thead>
          <tbody>
            {layer.extents.map((e, i) => (
              <tr key={i}>
                <td>{cleanText(e.access, 16)}</td>
                <td>{cleanText(e.type, 32)}</td>
                <td className="num">{e.sectors.toLocaleString()}</td>
                <td className="num">{e.offset.toLocaleString()}</td>
                <td className="mono" title={e.path ?? undefined}>
                  {e.path ? cleanText(baseName(e.path), 255) : <span className="muted">(zeros)</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3 className="section-title">Header fields</h3>
      {headerEntries.length === 0 ? (
        <p className="muted">No binary header: a text descriptor or a raw file.</p>
      ) : (
        <table className="data" aria-label="Header fields">
          <tbody>
            {headerEntries.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{cleanText(k, 64)}</th>
                <td className="mono">{cleanText(String(v), 1024)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3 className="section-title">Descriptor</h3>
      {layer.descriptor === null ? (
        <p className="muted">This link has no text descriptor.</p>
      ) : (
        <pre className="descriptor" aria-label="Descriptor text" tabIndex={0}>
          {cleanText(layer.descriptor.replace(/\r\n/g, '\n'), 65536)}
        </pre>
      )}
    </section>
  );
}
