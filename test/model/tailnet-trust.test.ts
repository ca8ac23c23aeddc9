// Who the tailnet trusts: the edges' own tags never as SSH sources.
import { problems } from "../fixtures";

describe("tailscaleSshFrom never names the edges' own tags", () => {
  test("the default tag as an SSH source is refused, naming the entry and what is valid", () => {
    expect(problems({ sshAllowFrom: ["tailnet"], tailscaleSshFrom: ["you@example.com", "tag:xmpp-edge"] })).toEqual([
      expect.stringMatching(/^xmpp-edge:tailscaleSshFrom\[1\]: "tag:xmpp-edge" is one of the edges' own tags \(tailscaleTags\): any edge could then SSH into every edge.*name the deployers .*or a tag no edge carries \("tag:ci"\)$/),
    ]);
  });

  test("any of several edge tags, in any case", () => {
    const found = problems({ tailscaleTags: ["tag:xmpp-edge", "tag:edge"], tailscaleSshFrom: ["TAG:Edge"] });
    expect(found).toEqual([expect.stringMatching(/^xmpp-edge:tailscaleSshFrom\[0\]: "TAG:Edge" is one of the edges' own tags/)]);
  });

  test("a tag the edges do not carry stays allowed", () => {
    expect(problems({ tailscaleTags: ["tag:xmpp-edge"], tailscaleSshFrom: ["tag:ci", "autogroup:admin"] })).toEqual([]);
  });
});
