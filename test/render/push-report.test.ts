import { parseTailnetReport } from "../../render/push";

test("the confirm's tailnet report: the address when it is a tailnet IPv4, else nothing", () => {
  const ok = "xmpp-edge-apply: confirmed: the pending revert is cancelled\nxmpp-edge-apply: tailnet-ipv4 100.64.0.7\n";
  expect(parseTailnetReport(ok)).toBe("100.64.0.7");
  expect(parseTailnetReport("xmpp-edge-apply: nothing to confirm: no revert is pending\n")).toBeUndefined();
  expect(parseTailnetReport("")).toBeUndefined();
  // Only the tailnet range: the home snippets will trust this address.
  for (const bad of ["192.0.2.1", "100.128.0.1", "100.64.0.999", "fd7a:115c:a1e0::1", "100.64.0.1; evil", "100.64.0.0/10"]) {
    expect(parseTailnetReport(`xmpp-edge-apply: tailnet-ipv4 ${bad}\n`)).toBeUndefined();
  }
});
