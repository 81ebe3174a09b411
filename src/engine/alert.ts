import type { Risk } from './config.js';

export type AlertType =
  | 'exclusion' | 'exclusion_buffer' | 'curfew' | 'inclusion' | 'proximity' | 'proximity_warning'
  | 'tamper' | 'battery_low' | 'no_fix' | 'device_offline';
export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type Confidence = 'possible' | 'confirmed';
export type EpisodeEvent = 'opened' | 'updated' | 'closed';

/** One alert event (contract section 3). Keys are always built in this order, so output is byte-stable. */
export interface AlertEvent {
  episodeId: string;
  event: EpisodeEvent;
  type: AlertType;
  severity: Severity;
  confidence: Confidence;
  subjectId: string;
  deviceId: string;
  conditionId?: string;
  zoneId?: string;
  team: string;
  at: string;
  /** The fix that triggered the event (a heartbeat has no position); absent for timers. */
  fix?: { seq: number; lat?: number; lon?: number; accuracy?: number };
  /**
   * proximity types, on `opened` and `updated`: the band the subject is in, as the condition's own
   * threshold in metres (`distanceM` for proximity, `warnM` for proximity_warning): "within 500 m".
   * Never the measured distance and never the victim's position.
   */
  withinM?: number;
  late: boolean;
}

/**
 * Severity by type and the subject's risk of serious harm. Proximity and tamper are never below
 * high; a battery warning never wakes anyone (always low). The table is documented in the README.
 */
const TABLE: Record<AlertType, Record<Risk, Severity>> = {
  exclusion: { low: 'medium', medium: 'high', high: 'critical', very_high: 'critical' },
  exclusion_buffer: { low: 'low', medium: 'medium', high: 'high', very_high: 'high' },
  curfew: { low: 'medium', medium: 'medium', high: 'high', very_high: 'critical' },
  inclusion: { low: 'medium', medium: 'medium', high: 'high', very_high: 'critical' },
  proximity: { low: 'high', medium: 'critical', high: 'critical', very_high: 'critical' },
  proximity_warning: { low: 'high', medium: 'high', high: 'high', very_high: 'critical' },
  tamper: { low: 'high', medium: 'high', high: 'critical', very_high: 'critical' },
  battery_low: { low: 'low', medium: 'low', high: 'low', very_high: 'low' },
  no_fix: { low: 'low', medium: 'medium', high: 'high', very_high: 'high' },
  device_offline: { low: 'medium', medium: 'medium', high: 'high', very_high: 'high' },
};

export function severityOf(type: AlertType, risk: Risk): Severity {
  return TABLE[type][risk];
}

export const SEVERITY_TABLE = TABLE;
