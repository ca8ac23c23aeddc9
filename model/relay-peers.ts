// Where the TURN relay must never send: the VPS itself, the tailnet (the home
// server!), private, loopback, link-local (the cloud metadata service),
// multicast and the special-purpose ranges that lead somewhere else (NAT64,
// 6to4, Teredo, IPv4-mapped). coturn's denied-peer-ip list and the nftables
// guard on coturn's own packets are both rendered from these lists, so one
// cannot drift from the other. Documentation ranges are deliberately absent:
// they are not routed on the internet, and the lab uses them as its internet.

/** The cloud metadata service (Hetzner's, and most others'): user-data holds secrets. */
export const METADATA_IPV4 = "169.254.169.254";

export const RELAY_DENIED_IPV4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

export const RELAY_DENIED_IPV6 = [
  "::/128",
  "::1/128",
  "::ffff:0:0/96",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/32",
  "2002::/16",
  "fc00::/7",
  "fe80::/10",
  "ff00::/8",
];
