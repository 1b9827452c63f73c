/**
 * Counters of this brain process and gauges read from the store, in Prometheus' text
 * exposition format (version 0.0.4): `# HELP`, `# TYPE`, then `name{label="value"} number`.
 */
export class Counters {
  private readonly values = new Map<string, Map<string, number>>();

  inc(name: string, labels: Record<string, string>, by = 1): void {
    this.incText(name, labelText(labels), by);
  }

  /** inc() with the labels already in text form (labelText), for a caller that made it once. */
  incText(name: string, labels: string, by = 1): void {
    let series = this.values.get(name);
    if (!series) this.values.set(name, (series = new Map()));
    series.set(labels, (series.get(labels) ?? 0) + by);
  }

  series(name: string): [string, number][] {
    return [...(this.values.get(name)?.entries() ?? [])];
  }
}

/** Escapes a label value: backslash, double quote and line feed. */
export function labelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}` : '';
}

export interface Metric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: [labels: string, value: number][];
}

export function exposition(metrics: readonly Metric[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    lines.push(`# TYPE ${m.name} ${m.type}`);
    for (const [labels, value] of m.samples) lines.push(`${m.name}${labels} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
  return lines.join('\n') + '\n';
}
