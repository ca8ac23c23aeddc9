// Hetzner Cloud's locations and server types, kept with the code so that the
// plan refuses a name the deploy would fail on. Written from Hetzner's
// published lists as of HETZNER_LISTS_AS_OF. To refresh, with the hcloud CLI:
//   hcloud location list -o columns=name,city
//   hcloud server-type list -o columns=name,architecture,deprecated
// or the API (any read token): GET https://api.hetzner.cloud/v1/locations
// and GET https://api.hetzner.cloud/v1/server_types (a type whose
// "deprecation" is set goes to RETIRED_SERVER_TYPES with its successor).

export const HETZNER_LISTS_AS_OF = "2025-11";

export const HETZNER_LOCATIONS: Readonly<Record<string, string>> = {
  fsn1: "Falkenstein",
  nbg1: "Nuremberg",
  hel1: "Helsinki",
  ash: "Ashburn, VA",
  hil: "Hillsboro, OR",
  sin: "Singapore",
};

export const HETZNER_SERVER_TYPES: readonly string[] = [
  // Shared vCPU, Arm64 (Ampere)
  "cax11", "cax21", "cax31", "cax41",
  // Shared vCPU, x86 (cost-optimized)
  "cx23", "cx33", "cx43", "cx53",
  // Shared vCPU, x86 (AMD, regular performance): the new line and the one it follows
  "cpx12", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62",
  "cpx11", "cpx21", "cpx31", "cpx41", "cpx51",
  // Dedicated vCPU
  "ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63",
];

/** Types Hetzner no longer creates, each with the current type that replaces it. */
export const RETIRED_SERVER_TYPES: Readonly<Record<string, string>> = {
  cx11: "cx23",
  cx21: "cx23",
  cx22: "cx23",
  cx31: "cx33",
  cx32: "cx33",
  cx41: "cx43",
  cx42: "cx43",
  cx51: "cx53",
  cx52: "cx53",
};
