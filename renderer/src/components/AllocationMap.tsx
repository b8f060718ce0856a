import { useCallback, useEffect, useRef, useState, type CSSProperties, type KeyboardEvent, type MouseEvent, type WheelEvent } from 'react';
import type { MapSummary, WireError } from '../../../shared/ipc/contract';
import { toWireError } from '../api';
import { layerColourVar, LAYER_COLOURS } from '../chain';
import { baseName, cleanText, formatBytes } from '../format';
import { useStores } from '../store';
import { ErrorNote } from './ErrorNote';

export interface MapView {
  start: number;
  length: number;
}

/** The smallest range the map zooms to: one 64 KiB grain per… well, a few pixels each. */
export const MIN_VIEW_BYTES = 64 * 1024;
export const MAX_BUCKETS = 16384;

/** Zooms `view` by `factor` (<1 in, >1 out) keeping the byte under `anchor` (0..1 of the width) in place. */
export function zoomView(view: MapView, factor: number, anchor: number, capacity: number): MapView {
  const length = Math.round(Math.min(capacity, Math.max(Math.min(MIN_VIEW_BYTES, capacity), view.length * factor)));
  const pivot = view.start + view.length * anchor;
  const start = Math.round(pivot - length * anchor);
  return clampView({ start, length }, capacity);
}

export function panView(view: MapView, fraction: number, capacity: number): MapView {
  return clampView({ start: Math.round(view.start + view.length * fraction), length: view.length }, capacity);
}

export function clampView(view: MapView, capacity: number): MapView {
  const length = Math.max(1, Math.min(view.length, capacity));
  const start = Math.max(0, Math.min(view.start, capacity - length));
  return { start, length };
}

/** Byte range of bucket `i` of a summary (the contract's floor rule). */
export function bucketRange(summary: Pick<MapSummary, 'start' | 'length' | 'buckets'>, i: number): [number, number] {
  const from = summary.start + Math.floor((i * summary.length) / summary.buckets);
  const to = summary.start + Math.floor(((i + 1) * summary.length) / summary.buckets);
  return [from, to];
}

function cssVar(el: Element, name: string, fallback: string): string {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  return value === '' ? fallback : value;
}

function draw(canvas: HTMLCanvasElement, summary: MapSummary, selection: [number, number] | null): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const width = canvas.width;
  const height = canvas.height;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = cssVar(canvas, '--map-empty', '#f0f2f5');
  ctx.fillRect(0, 0, width, height);
  const colours = Array.from({ length: LAYER_COLOURS }, (_, i) => cssVar(canvas, `--layer-${i}`, '#2f6fdf'));
  const step = width / summary.buckets;
  for (let i = 0; i < summary.buckets; i++) {
    const layer = summary.dominant[i];
    if (layer === null || layer === undefined) continue;
    const x = Math.floor(i * step);
    const w = Math.max(1, Math.floor((i + 1) * step) - x);
    const fraction = summary.dataFraction[i] ?? 0;
    ctx.fillStyle = colours[layer % LAYER_COLOURS]!;
    // Any data in a bucket shows in its link's colour (a few MiB must stay visible on 2 TiB), the
    // fuller the bucket the stronger; explicit zeros a link holds are a pale column.
    if (fraction > 0) {
      ctx.globalAlpha = 0.55 + 0.45 * Math.sqrt(fraction);
      ctx.fillRect(x, 0, Math.max(w, 2), height);
    } else {
      ctx.globalAlpha = 0.22;
      ctx.fillRect(x, 0, w, height);
    }
  }
  ctx.globalAlpha = 1;
  if (selection) {
    const [a, b] = selection[0] < selection[1] ? selection : [selection[1], selection[0]];
    ctx.fillStyle = cssVar(canvas, '--accent', '#2f6fdf');
    ctx.globalAlpha = 0.18;
    ctx.fillRect(a * width, 0, (b - a) * width, height);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = ctx.fillStyle;
    ctx.strokeRect(a * width + 0.5, 0.5, (b - a) * width - 1, height - 1);
  }
}

/**
 * Which link holds each region of the disk, on a canvas. The service summarizes any byte range
 * into one bucket per pixel, so a 2 TiB disk costs the same as a small one; zooming asks again for
 * the narrower range (wheel, drag a range, the buttons, or + − ← → 0 on the focused map).
 */
export function AllocationMap({ diskId, ignoreCid, capacityBytes }: { diskId: string; ignoreCid: boolean; capacityBytes: number }) {
  const { disks } = useStores();
  const canvasRef = useRef<HTMLCanvasElement | null>(null);
  const wrapRef = useRef<HTMLDivElement | null>(null);
  const [view, setView] = useState<MapView>({ start: 0, length: capacityBytes });
  const [width, setWidth] = useState(0);
  const [summary, setSummary] = useState<MapSummary | null>(null);
  const [error, setError] = useState<WireError | null>(null);
  const [loadingMap, setLoadingMap] = useState(false);
  const [hover, setHover] = useState<number | null>(null);
  const [drag, setDrag] = useState<[number, number] | null>(null);
  const [scheme, setScheme] = useState(0);
  const seq = useRef(0);

  useEffect(() => setView({ start: 0, length: capacityBytes }), [diskId, capacityBytes]);

  // Track the drawing width; one bucket per device pixel, capped by the contract.
  useEffect(() => {
    const wrap = wrapRef.current;
    if (!wrap) return;
    const measure = (): void => setWidth(Math.floor(wrap.clientWidth));
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(wrap);
    return () => observer.disconnect();
  }, []);

  // Redraw with the other palette when the system switches light/dark.
  useEffect(() => {
    if (typeof matchMedia !== 'function') return;
    const query = matchMedia('(prefers-color-scheme: dark)');
    const onChange = (): void => setScheme((n) => n + 1);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);

  const dpr = typeof window !== 'undefined' ? Math.min(2, window.devicePixelRatio || 1) : 1;
  const buckets = Math.max(1, Math.min(MAX_BUCKETS, Math.round((width || 800) * dpr), view.length));

  useEffect(() => {
    if (capacityBytes <= 0) return;
    const mine = ++seq.current;
    setLoadingMap(true);
    const timer = setTimeout(() => {
      disks
        .getState()
        .readMap(diskId, { start: view.start, length: view.length, buckets }, ignoreCid)
        .then((s) => {
          if (seq.current !== mine) return;
          setSummary(s);
          setError(null);
        })
        .catch((e: unknown) => {
          if (seq.current === mine) setError(toWireError(e));
        })
        .finally(() => {
          if (seq.current === mine) setLoadingMap(false);
        });
    }, 60);
    return () => clearTimeout(timer);
  }, [disks, diskId, ignoreCid, view.start, view.length, buckets, capacityBytes]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !summary) return;
    canvas.width = summary.buckets;
    canvas.height = Math.round(160 * dpr);
    draw(canvas, summary, drag);
  }, [summary, drag, scheme, dpr]);

  const fractionAt = (e: MouseEvent<HTMLCanvasElement> | WheelEvent<HTMLCanvasElement>): number => {
    const rect = e.currentTarget.getBoundingClientRect();
    return rect.width > 0 ? Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width)) : 0.5;
  };

  const zoom = useCallback((factor: number, anchor = 0.5) => setView((v) => zoomView(v, factor, anchor, capacityBytes)), [capacityBytes]);

  const onWheel = (e: WheelEvent<HTMLCanvasElement>): void => {
    if (e.deltaY === 0) return;
    zoom(e.deltaY < 0 ? 0.8 : 1.25, fractionAt(e));
  };
  const onMouseDown = (e: MouseEvent<HTMLCanvasElement>): void => {
    const f = fractionAt(e);
    setDrag([f, f]);
  };
  const onMouseMove = (e: MouseEvent<HTMLCanvasElement>): void => {
    const f = fractionAt(e);
    setHover(f);
    if (drag) setDrag([drag[0], f]);
  };
  const onMouseUp = (): void => {
    if (drag && Math.abs(drag[1] - drag[0]) > 0.005) {
      const [a, b] = drag[0] < drag[1] ? drag : [drag[1], drag[0]];
      setView((v) => clampView({ start: Math.round(v.start + a * v.length), length: Math.max(MIN_VIEW_BYTES, Math.round((b - a) * v.length)) }, capacityBytes));
    }
    setDrag(null);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLCanvasElement>): void => {
    const actions: Record<string, () => void> = {
      '+': () => zoom(0.5),
      '=': () => zoom(0.5),
      '-': () => zoom(2),
      ArrowLeft: () => setView((v) => panView(v, -0.25, capacityBytes)),
      ArrowRight: () => setView((v) => panView(v, 0.25, capacityBytes)),
      '0': () => setView({ start: 0, length: capacityBytes }),
      Home: () => setView({ start: 0, length: capacityBytes }),
    };
    const act = actions[e.key];
    if (act) {
      e.preventDefault();
      act();
    }
  };

  const whole = view.start === 0 && view.length >= capacityBytes;
  const hovered = summary && hover !== null ? Math.min(summary.buckets - 1, Math.floor(hover * summary.buckets)) : null;
  const describe = summary
    ? `Allocation map from ${formatBytes(summary.start)} to ${formatBytes(summary.start + summary.length)}: ` +
      summary.layers.map((l, i) => `${baseName(l.path)} holds ${formatBytes(summary.layerBytes[i] ?? 0)}`).join(', ')
    : 'Allocation map, loading';

  return (
    <section className="card" aria-labelledby="map-title">
      <div className="map-toolbar">
        <h2 id="map-title" className="grow">
          Allocation map
        </h2>
        <span className="muted" aria-live="polite">
          {loadingMap ? 'Reading the map…' : `${formatBytes(view.length)} shown`}
        </span>
        <button type="button" className="small" onClick={() => setView((v) => panView(v, -0.5, capacityBytes))} disabled={view.start === 0} aria-label="Scroll left">
          ←
        </button>
        <button
          type="button"
          className="small"
          onClick={() => setView((v) => panView(v, 0.5, capacityBytes))}
          disabled={view.start + view.length >= capacityBytes}
          aria-label="Scroll right"
        >
          →
        </button>
        <button type="button" className="small" onClick={() => zoom(0.5)} disabled={view.length <= MIN_VIEW_BYTES}>
          Zoom in
        </button>
        <button type="button" className="small" onClick={() => zoom(2)} disabled={whole}>
          Zoom out
        </button>
        <button type="button" className="small" onClick={() => setView({ start: 0, length: capacityBytes })} disabled={whole}>
          Whole disk
        </button>
      </div>
      {error && <ErrorNote error={error} title="Could not read the allocation map" />}
      <div className="map-canvas-wrap" ref={wrapRef}>
        <canvas
          ref={canvasRef}
          role="img"
          aria-label={describe}
          tabIndex={0}
          onWheel={onWheel}
          onMouseDown={onMouseDown}
          onMouseMove={onMouseMove}
          onMouseUp={onMouseUp}
          onMouseLeave={() => {
            setHover(null);
            setDrag(null);
          }}
          onKeyDown={onKeyDown}
        />
      </div>
      <div className="map-axis" aria-hidden="true">
        <span>{formatBytes(view.start)}</span>
        <span>{formatBytes(view.start + view.length / 2)}</span>
        <span>{formatBytes(view.start + view.length)}</span>
      </div>
      <p className="map-hover" aria-live="off">
        {summary && hovered !== null
          ? (() => {
              const [from, to] = bucketRange(summary, hovered);
              const layer = summary.dominant[hovered];
              const who = layer === null || layer === undefined ? 'no link (reads as zeros)' : cleanText(summary.layers[layer]?.name ?? '', 200);
              return `${formatBytes(from)} – ${formatBytes(to)}: ${who}, ${Math.round((summary.dataFraction[hovered] ?? 0) * 100)} % data`;
            })()
          : 'Scroll to zoom, drag across a range to zoom into it; keys + − ← → 0 when the map has focus.'}
      </p>
      {summary && (
        <ul className="legend" aria-label="Layers">
          {summary.layers.map((l, i) => (
            <li key={i} style={{ '--layer-color': layerColourVar(i) } as CSSProperties}>
              <span className="swatch" aria-hidden="true" />
              <span className="mono">{cleanText(l.name, 200)}</span>
              <span className="muted">{formatBytes(summary.layerBytes[i] ?? 0)}</span>
            </li>
          ))}
          <li>
            <span className="swatch" style={{ '--layer-color': 'var(--map-empty)' } as CSSProperties} aria-hidden="true" />
            <span>not allocated (zeros)</span>
          </li>
        </ul>
      )}
    </section>
  );
}
