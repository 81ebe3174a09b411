/**
 * What a grid index needs to know of its boxes before it sizes its cells: their common extent
 * and the median box's width and height. Boxes are [minX, minY, maxX, maxY] in degrees, four
 * numbers per item. No boxes: an empty extent at 0,0.
 */
export interface BoxExtent {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  medianWidth: number;
  medianHeight: number;
}

export function boxExtent(boxes: Float64Array): BoxExtent {
  const n = boxes.length / 4;
  if (n === 0) return { minX: 0, minY: 0, maxX: 0, maxY: 0, medianWidth: 0, medianHeight: 0 };
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const widths = new Float64Array(n), heights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const b = i * 4;
    if (boxes[b] < minX) minX = boxes[b];
    if (boxes[b + 1] < minY) minY = boxes[b + 1];
    if (boxes[b + 2] > maxX) maxX = boxes[b + 2];
    if (boxes[b + 3] > maxY) maxY = boxes[b + 3];
    widths[i] = boxes[b + 2] - boxes[b];
    heights[i] = boxes[b + 3] - boxes[b + 1];
  }
  return { minX, minY, maxX, maxY, medianWidth: median(widths), medianHeight: median(heights) };
}

function median(a: Float64Array): number {
  a.sort();
  return a[a.length >> 1];
}
