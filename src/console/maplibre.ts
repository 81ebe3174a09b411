// MapLibre's CSP build: its worker is a file served from this origin (worker-src 'self'),
// never a blob: URL, so the console's Content-Security-Policy needs no exception for it.
import maplibregl from 'maplibre-gl/dist/maplibre-gl-csp.js';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-csp-worker.js?url';
import 'maplibre-gl/dist/maplibre-gl.css';

maplibregl.setWorkerUrl(workerUrl);

export default maplibregl;
export type * from 'maplibre-gl';
