/** The API's shapes the console reads (see src/server/http/*.ts and the README). */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface AlertEventMsg {
  episodeId: string;
  event: 'opened' | 'updated' | 'closed';
  type: string;
  severity: Severity;
  confidence: string;
  subjectId: string;
  deviceId: string;
  conditionId?: string;
  zoneId?: string;
  team: string;
  at: string;
  fix?: { seq: number; lat?: number; lon?: number; accuracy?: number };
  withinM?: number;
  late: boolean;
}

export interface Decision { by: string; role: string; outcome: string; note: string; at: string }
export interface Claim { by: string; role: string; at: string; assignedBy?: string }

export interface Alert {
  episodeId: string;
  type: string;
  severity: Severity;
  confidence: string;
  state: 'open' | 'closed';
  subjectId: string;
  deviceId: string;
  conditionId?: string;
  zoneId?: string;
  team: string;
  openedAt: string;
  closedAt?: string;
  late: boolean;
  events?: AlertEventMsg[];
  acknowledged?: Decision;
  decisions?: Decision[];
  claim?: Claim;
  escalations?: number;
  delivery?: Record<string, unknown>;
}

export type AlertPage = { alerts: Alert[]; total: number; nextCursor: string | null };

export interface Schedule {
  windows: { days: string[]; start: string; end: string }[];
  except?: { from: string; to: string }[];
}

export interface Condition {
  id: string;
  type: 'exclusion' | 'curfew' | 'inclusion' | 'proximity';
  zone?: string;
  layer?: string;
  bufferM?: number;
  graceS?: number;
  schedule?: Schedule;
  victimDeviceId?: string;
  distanceM?: number;
  warnM?: number;
  [k: string]: unknown;
}

export interface Subject {
  id: string;
  deviceId: string;
  team?: string;
  name?: string;
  cohort?: string;
  risk?: string;
  mappaLevel?: number;
  timezone?: string;
  status?: 'active' | 'suspended';
  validFrom?: string;
  validTo?: string;
  conditions: Condition[];
  [k: string]: unknown;
}

export interface ZoneSummary { id: string; name?: string; layer?: string | null; kind?: string; vertexCount?: number; bbox?: [number, number, number, number] }

export interface ZoneFeature {
  type: 'Feature';
  id?: string;
  geometry: { type: 'Polygon'; coordinates: number[][][] } | { type: 'MultiPolygon'; coordinates: number[][][][] } | { type: 'Point'; coordinates: number[] };
  properties?: { name?: string; layer?: string; radiusM?: number; [k: string]: unknown } | null;
}

export interface TrailFeature {
  type: 'Feature';
  geometry: { type: 'Point'; coordinates: [number, number] } | null;
  properties: { seq: number; ts: string; receivedAt: string; accuracy?: number; battery?: number; strap?: string };
}
export interface Trail { type: 'FeatureCollection'; subjectId: string; deviceId: string; features: TrailFeature[] }

export interface Position {
  deviceId: string;
  subjectId: string | null;
  team: string | null;
  ts: string;
  lat: number;
  lon: number;
  accuracy: number | null;
  battery: number | null;
  strap: string | null;
  stale: boolean;
  openAlerts: number;
  maxSeverity: Severity | null;
}

export interface OpsSummary {
  at: string;
  fixesPerSec: number;
  connectedTags: number;
  openAlerts: Record<Severity, number>;
  deliveryBacklog: number;
  deadLetters: number;
}

export interface DeviceHealth {
  lastSeen: string | null;
  battery: number | null;
  strap: string | null;
  lastFix?: { ts: string; lat: number; lon: number; accuracy: number | null } | null;
}

export interface Device { id: string; kind: string; status: string; serial?: string; subjectId?: string; health?: DeviceHealth }

export interface Webhook { id?: string; url: string; secret: string; timeoutMs?: number }
export interface TeamRouting {
  id: string;
  webhooks: Webhook[];
  escalation?: { webhook: Webhook; afterS: { critical: number; high: number }; repeatS: number; max: number };
}

export interface DeadLetter { jobId: string; key: string; team: string; channel: string; kind: string; attempts: number; error: string; at: string }
