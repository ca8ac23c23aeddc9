// A drop-in for Debian's coturn unit: what coturn may take from the host
// under a flood. Without it an unauthenticated STUN/TURN spray grows coturn
// until the kernel's OOM killer picks a victim by size, nginx or tailscaled
// as likely as coturn, and coturn raises its own file limit to the hard one.
import type { EdgeModel } from "../model/model";
import { generatedHeader } from "./header";

export const COTURN_DROPIN_PATH = "/etc/systemd/system/coturn.service.d/xmpp-edge.conf";

/**
 * Open files coturn may hold: a relay socket (two with RTP/RTCP pairs) per
 * allocation up to total-quota, one per TCP client, its listeners; four
 * times the allocations leaves room for the TCP clients.
 */
export const COTURN_TOTAL_QUOTA = 1200;
export const COTURN_NOFILE = 4 * COTURN_TOTAL_QUOTA;

/**
 * Positive: when the host as a whole runs out of memory (not coturn's own
 * ceiling), coturn goes first. nginx and tailscaled keep the kernel's
 * default (0): their own units are Debian's and tailscale's, and with
 * coturn capped nothing else on the edge grows with a spoofed flood.
 */
export const COTURN_OOM_SCORE_ADJUST = 500;

export function renderCoturnDropIn(model: EdgeModel): string {
  return [
    generatedHeader("#", "coturn's share of the xmpp-edge VPS: memory, open files, the OOM killer's first choice."),
    "[Service]",
    `# turnMemoryMB ${model.config.turnMemoryMB}: at the ceiling the kernel ends coturn inside its own cgroup and systemd restarts it (Restart=on-failure).`,
    `MemoryMax=${model.config.turnMemoryMB}M`,
    `LimitNOFILE=${COTURN_NOFILE}`,
    `OOMScoreAdjust=${COTURN_OOM_SCORE_ADJUST}`,
    "",
  ].join("\n");
}
