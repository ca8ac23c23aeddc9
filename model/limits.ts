// What the edge may spend under a flood: coturn's total bandwidth and memory,
// and the kernel's connection tracking table. Each is a setting because a
// bigger server (or a busier home) may need more; the defaults fit the
// smallest Hetzner type (2 GB) with room for nginx and tailscaled.

/**
 * Every TURN session's bandwidth together, Mbit/s each way (coturn
 * bps-capacity): an allocation reserves its session's cap (turnSessionKbps)
 * from it, and coturn refuses an allocation that no longer fits. At the
 * default cap that is 250 full-rate sessions, far more than one home's calls.
 */
export const DEFAULT_TURN_CAPACITY_MBPS = 1000;
export const TURN_CAPACITY_MBPS_RANGE = { min: 1, max: 100_000 };

/**
 * coturn's memory ceiling (its unit's MemoryMax=), MB. Every source that
 * sends one unauthenticated Allocate or Binding costs coturn about 19 KB
 * until max-allocate-timeout ends it (docs/security.md); at the ceiling the
 * kernel's OOM killer ends coturn inside its own cgroup (systemd restarts
 * it), never nginx or tailscaled.
 */
export const DEFAULT_TURN_MEMORY_MB = 512;
export const TURN_MEMORY_MB_RANGE = { min: 64, max: 65536 };

/**
 * Connection tracking entries (net.netfilter.nf_conntrack_max). The kernel
 * sizes its default from memory (65,536 on a 4 GB server); one entry costs
 * about 320 bytes (its slab object and hash bucket), so the default costs
 * at most 80 MB and lets a spoofed SYN spray (each entry lives
 * CONNTRACK_SYN_RECV_SECONDS) run four times longer before new flows fail.
 */
export const DEFAULT_CONNTRACK_MAX = 262144;
export const CONNTRACK_MAX_RANGE = { min: 65536, max: 16_777_216 };
/** Bytes per conntrack entry, for the memory the setting costs (measured: docs/security.md). */
export const CONNTRACK_ENTRY_BYTES = 320;
