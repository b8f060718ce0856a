import { useCallback, useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import type { DiskInfo } from '../../../shared/types';
import { layerColourVar, linkRole, linkTie } from '../chain';
import { baseName, cleanText, formatBytes } from '../format';

/**
 * The chain as a graph, base on the left: `base ← REDO ← REDO.REDO`. Each link is a button that
 * shows its detail; the arrow between two links says how the child found its parent and is red,
 * with the reason written out, where the child's parentCID does not match.
 */
export function ChainGraph({ info, selected, onSelect }: { info: DiskInfo; selected: number | null; onSelect: (layer: number) => void }) {
  const count = info.layers.length;
  const baseFirst = info.layers.map((layer, index) => ({ layer, index })).reverse();
  const buttons = useRef<Array<HTMLButtonElement | null>>([]);
  const { list, hidden, scrollBy } = useChainScroll(info);

  const onKeyDown = (e: KeyboardEvent<HTMLOListElement>): void => {
    const at = buttons.current.findIndex((b) => b === document.activeElement);
    if (at < 0) return;
    let next = at;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = Math.min(at + 1, count - 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = Math.max(at - 1, 0);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = count - 1;
    else return;
    e.preventDefault();
    buttons.current[next]?.focus();
  };

  return (
    <div className={`chain-wrap${hidden.left > 0 ? ' more-left' : ''}${hidden.right > 0 ? ' more-right' : ''}`}>
      {hidden.left > 0 && (
        <button type="button" className="chain-more left small" onClick={() => scrollBy(-1)} aria-label={`Show ${hidden.left} more ${hidden.left === 1 ? 'link' : 'links'} toward the base`}>
          ◀ {hidden.left} more
        </button>
      )}
      {hidden.right > 0 && (
        <button type="button" className="chain-more right small" onClick={() => scrollBy(1)} aria-label={`Show ${hidden.right} more ${hidden.right === 1 ? 'link' : 'links'} toward the top`}>
          {hidden.right} more ▶
        </button>
      )}
      <ol className="chain" aria-label="Chain links, base first" onKeyDown={onKeyDown} ref={list} onScroll={() => hidden.measure()}>
        {baseFirst.map(({ layer, index }, position) => {
          const parent = info.layers[index + 1];
          const tieToParent = parent ? linkTie(layer, parent) : null;
          const role = linkRole(layer, index, count);
          const name = cleanText(baseName(layer.path), 200);
          const share = layer.capacityBytes > 0 ? Math.min(1, layer.allocatedBytes / layer.capacityBytes) : 0;
          const style = { '--layer-color': layerColourVar(index) } as CSSProperties;
          return (
            <li key={layer.path + index}>
              {tieToParent && (
                <div className={`chain-arrow ${tieToParent.broken ? 'broken' : ''}`} title={tieToParent.explanation}>
                  <svg width="48" height="14" viewBox="0 0 48 14" aria-hidden="true">
                    <path d="M47 7H5" fill="none" stroke="currentColor" strokeWidth="2" strokeDasharray={tieToParent.broken ? '4 3' : undefined} />
                    <path d="M10 1L3 7l7 6" fill="none" stroke="currentColor" strokeWidth="2" strokeLinejoin="round" />
                  </svg>
                  <span>{tieToParent.broken ? 'CID mismatch' : 'parent'}</span>
                </div>
              )}
              <button
                type="button"
                ref={(el) => {
                  buttons.current[position] = el;
                }}
                className={`link-node ${tieToParent?.broken ? 'broken' : ''}`}
                title={cleanText(layer.path, 1000)}
                style={style}
                aria-pressed={selected === index}
                aria-label={`${name}, ${role}${tieToParent?.broken ? ', CID mismatch' : ''}`}
                aria-describedby={tieToParent?.broken ? `tie-${index}` : undefined}
                onClick={() => onSelect(index)}
              >
                <span className="link-name">{name}</span>
                <span className="link-kind">
                  <span className="badge">{role}</span>
                  <span className="muted">{cleanText(layer.createType, 64)}</span>
                </span>
                <dl>
                  <dt>CID</dt>
                  <dd className="mono">{layer.cid ?? '—'}</dd>
                  <dt>parentCID</dt>
                  <dd className="mono">{layer.parentCid ?? '—'}</dd>
                  <dt>Capacity</dt>
                  <dd>{formatBytes(layer.capacityBytes)}</dd>
                  <dt>Allocated</dt>
                  <dd>{formatBytes(layer.allocatedBytes)}</dd>
                </dl>
                <div className="alloc-bar" aria-hidden="true">
                  <div style={{ width: `${(share * 100).toFixed(2)}%` }} />
                </div>
              </button>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/**
 * A long chain scrolls sideways: the link opened (the top, at the right end) is scrolled into view
 * when the chain is shown, and the links out of view are counted on buttons at either edge.
 */
function useChainScroll(info: DiskInfo) {
  const list = useRef<HTMLOListElement | null>(null);
  const [counts, setCounts] = useState({ left: 0, right: 0 });
  const measure = useCallback(() => {
    const ol = list.current;
    if (!ol) return;
    const box = ol.getBoundingClientRect();
    let left = 0;
    let right = 0;
    for (const li of Array.from(ol.children)) {
      const r = li.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left + r.width / 2 < box.left) left++;
      else if (r.right - r.width / 2 > box.right) right++;
    }
    setCounts((c) => (c.left === left && c.right === right ? c : { left, right }));
  }, []);
  useLayoutEffect(() => {
    const ol = list.current;
    if (!ol) return;
    ol.scrollLeft = ol.scrollWidth;
    measure();
  }, [info, measure]);
  useEffect(() => {
    const ol = list.current;
    if (!ol || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(ol);
    return () => observer.disconnect();
  }, [measure]);
  const scrollBy = (direction: 1 | -1): void => {
    const ol = list.current;
    if (ol) ol.scrollBy({ left: direction * ol.clientWidth * 0.8, behavior: 'smooth' });
  };
  return { list, hidden: { ...counts, measure }, scrollBy };
}

/** Broken ties written out under the graph, so the reason is read, not only hovered. */
export function BrokenTies({ info }: { info: DiskInfo }) {
  const broken = info.layers
    .map((layer, index) => ({ index, parent: info.layers[index + 1], layer }))
    .filter((x) => x.parent !== undefined)
    .map((x) => ({ index: x.index, tie: linkTie(x.layer, x.parent!) }))
    .filter((x) => x.tie.broken);
  if (broken.length === 0) return null;
  return (
    <ul className="ties" aria-label="Broken links">
      {broken.map(({ index, tie }) => (
        <li key={index} id={`tie-${index}`} className="note error" role="alert">
          <span className="icon" aria-hidden="true">
            !
          </span>
          <div className="body">{tie.explanation}</div>
        </li>
      ))}
    </ul>
  );
}
