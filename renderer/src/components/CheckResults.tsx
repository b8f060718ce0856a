import type { CheckReport, Problem } from '../../../shared/types';
import { baseName, cleanText } from '../format';
import { OkNote } from './ErrorNote';

/** Every problem `diskchain check` found, errors first, each with its file and location. */
export function CheckResults({ report }: { report: CheckReport }) {
  if (report.problems.length === 0) {
    return <OkNote>No problems found in any link of the chain. The structures are consistent.</OkNote>;
  }
  const ordered: Problem[] = [...report.problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return (
    <section aria-labelledby="check-title" className="card">
      <h2 id="check-title">
        {report.errors} {report.errors === 1 ? 'error' : 'errors'}, {report.warnings} {report.warnings === 1 ? 'warning' : 'warnings'}
      </h2>
      <table className="data" aria-label="Problems">
        <thead>
          <tr>
            <th scope="col">Severity</th>
            <th scope="col">Problem</th>
            <th scope="col">File</th>
            <th scope="col">Location</th>
          </tr>
        </thead>
        <tbody>
          {ordered.map((p, i) => (
            <tr key={i}>
              <td>
                <span className={`badge ${p.severity}`}>{p.severity}</span>
              </td>
              <td>{cleanText(p.message)}</td>
              <td className="mono" title={p.file}>
                {cleanText(baseName(p.file), 255)}
              </td>
              <td className="mono">{p.location ? cleanText(p.location, 200) : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
