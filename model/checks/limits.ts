// What the edge may spend under a flood (model/limits.ts): whole numbers in range.
import type { ParsedConfig } from "../config";
import * as L from "../limits";
import { quoteRedacted, type Checks } from "./report";

function whole(v: number, r: { min: number; max: number }): boolean {
  return Number.isInteger(v) && v >= r.min && v <= r.max;
}

export function checkLimits(p: ParsedConfig, c: Checks): void {
  const cap = L.TURN_CAPACITY_MBPS_RANGE;
  if (!whole(p.turnCapacityMbps, cap)) {
    c.report("turnCapacityMbps", `${quoteRedacted(p.turnCapacityMbps)} is not a bandwidth; expected whole Mbit/s from ${cap.min} to ${cap.max} (default ${L.DEFAULT_TURN_CAPACITY_MBPS})`);
  } else if (Number.isInteger(p.turnSessionKbps) && p.turnCapacityMbps * 1000 < p.turnSessionKbps) {
    c.report("turnCapacityMbps", `${p.turnCapacityMbps} Mbit/s is less than one session's cap (turnSessionKbps ${p.turnSessionKbps} kbit/s): coturn would refuse every allocation; expected at least ${Math.ceil(p.turnSessionKbps / 1000)}`);
  }
  const mem = L.TURN_MEMORY_MB_RANGE;
  if (!whole(p.turnMemoryMB, mem)) {
    c.report("turnMemoryMB", `${quoteRedacted(p.turnMemoryMB)} is not a memory ceiling; expected whole MB from ${mem.min} to ${mem.max} (default ${L.DEFAULT_TURN_MEMORY_MB})`);
  }
  const ct = L.CONNTRACK_MAX_RANGE;
  if (!whole(p.conntrackMax, ct)) {
    c.report("conntrackMax", `${quoteRedacted(p.conntrackMax)} is not a number of conntrack entries; expected a whole number from ${ct.min} to ${ct.max} (default ${L.DEFAULT_CONNTRACK_MAX}, about ${Math.round((L.DEFAULT_CONNTRACK_MAX * L.CONNTRACK_ENTRY_BYTES) / 2 ** 20)} MB)`);
  }
}
